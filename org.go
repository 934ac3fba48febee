package usagereport

import (
	"errors"
	"fmt"
	"strconv"
)

// Org is a Norwegian organisation number (9 digits, mod-11 check digit).
type Org uint32

// String writes the number with all nine digits.
func (o Org) String() string { return fmt.Sprintf("%09d", uint32(o)) }

// ErrOrgNumber reports a value that is not a valid organisation number.
var ErrOrgNumber = errors.New("not a 9-digit organisation number with a valid check digit")

var orgWeights = [8]int{3, 2, 7, 6, 5, 4, 3, 2}

// ParseOrg reads a 9-digit organisation number and checks its mod-11 check digit.
func ParseOrg(b []byte) (Org, error) {
	if len(b) != 9 {
		return 0, ErrOrgNumber
	}
	var n uint32
	sum := 0
	for i, c := range b {
		if c < '0' || c > '9' {
			return 0, ErrOrgNumber
		}
		d := int(c - '0')
		if i < 8 {
			sum += d * orgWeights[i]
		}
		n = n*10 + uint32(d)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	if check == 10 || check != int(b[8]-'0') {
		return 0, ErrOrgNumber
	}
	return Org(n), nil
}

// ParseOrgString is ParseOrg for flags and file names.
func ParseOrgString(s string) (Org, error) {
	o, err := ParseOrg([]byte(s))
	if err != nil {
		return 0, fmt.Errorf("organisation number %s: %w", strconv.Quote(s), err)
	}
	return o, nil
}
