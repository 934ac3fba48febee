package usagereport

import (
	"errors"
	"strconv"
)

// Amount is an exact amount of NOK in units of 1/10000 (scale 4), as
// DECIMAL(18,4) holds it.
type Amount int64

// AmountScale is the number of Amount units in one NOK.
const AmountScale = 10000

// Errors of ParseAmount.
var (
	ErrAmountSyntax   = errors.New("not a decimal amount with '.' and at most 4 decimals")
	ErrAmountRange    = errors.New("amount out of range")
	ErrAmountOverflow = errors.New("sum overflows DECIMAL(18,4)")
	maxDecimal18      = Amount(999_999_999_999_999_999)
)

// ParseAmount reads a decimal NOK amount: optional sign, digits, optionally
// '.' and 1 to 4 decimals. No exponent, no thousands separator.
func ParseAmount(b []byte) (Amount, error) {
	if len(b) == 0 {
		return 0, ErrAmountSyntax
	}
	neg := false
	switch b[0] {
	case '-':
		neg = true
		b = b[1:]
	case '+':
		b = b[1:]
	}
	var v int64
	intDigits, fracDigits := 0, 0
	dot := false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if dot {
				fracDigits++
				if fracDigits > 4 {
					return 0, ErrAmountSyntax
				}
			} else {
				intDigits++
				if intDigits > 14 {
					return 0, ErrAmountRange
				}
			}
			v = v*10 + int64(c-'0')
		case c == '.' && !dot:
			dot = true
		default:
			return 0, ErrAmountSyntax
		}
	}
	if intDigits == 0 || (dot && fracDigits == 0) {
		return 0, ErrAmountSyntax
	}
	for ; fracDigits < 4; fracDigits++ {
		v *= 10
	}
	if neg {
		v = -v
	}
	return Amount(v), nil
}

// Add returns a+b, or an error when the sum leaves DECIMAL(18,4).
func (a Amount) Add(b Amount) (Amount, error) {
	s, ok := AddInt64(int64(a), int64(b))
	if !ok || Amount(s) > maxDecimal18 || Amount(s) < -maxDecimal18 {
		return 0, ErrAmountOverflow
	}
	return Amount(s), nil
}

// AddInt64 returns a+b, and false when the sum overflows int64.
func AddInt64(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// String writes the amount with four decimals, e.g. "-3.0500".
func (a Amount) String() string {
	return string(a.Append(nil))
}

// Append appends the String form to dst.
func (a Amount) Append(dst []byte) []byte {
	u := uint64(a)
	if a < 0 {
		dst = append(dst, '-')
		u = uint64(-a)
	}
	dst = strconv.AppendUint(dst, u/AmountScale, 10)
	frac := u % AmountScale
	return append(dst, '.', byte('0'+frac/1000), byte('0'+frac/100%10), byte('0'+frac/10%10), byte('0'+frac%10))
}
