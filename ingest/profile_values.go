package ingest

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	ur "usagereport"
)

// Reasons a row read through a profile is rejected, besides those of CSV v1.
// Like those, they name what was wrong, never the value.
var (
	ErrTimeLayout   = errors.New("not a time in the profile's time_layout")
	ErrTimeSkipped  = errors.New("a local time that does not exist (the hour skipped when summer time starts)")
	ErrTimeRepeated = errors.New("a local time that occurs twice (the hour repeated when summer time ends)")
	ErrNumberFormat = errors.New("not an amount in the profile's number format (at most 4 decimals)")
	ErrClock        = errors.New("not a duration h:mm:ss")
	ErrNotJSON      = errors.New("not a JSON object")
	ErrJSONValue    = errors.New("not a string, number or null")
	ErrDuplicateKey = errors.New("a mapped key appears twice")
)

// ProfileReasons lists the reasons above in the order summaries print them,
// after Reasons: a CSV v1 file is never rejected for them.
var ProfileReasons = []error{
	ErrNotJSON, ErrDuplicateKey, ErrJSONValue, ErrTimeLayout, ErrTimeSkipped, ErrTimeRepeated, ErrNumberFormat, ErrClock,
}

// rawRow holds the source values of one row's kept fields before the
// profile's conventions apply: raw[c][i] is the value of the i-th source
// column of kept field c (nil where the input lacks it).
type rawRow [numCols][2][]byte

// converter applies a profile's conventions to a row's kept values and
// hands them to the Validator as CSV v1 would have written them, so that
// every format is checked by the same code.
type converter struct {
	p       *Profile
	v       *Validator
	instant bool // start_time values are already RFC 3339 (Parquet timestamps)
	f       Fields
	buf     [numCols][]byte
}

func newConverter(p *Profile, pseudo *Pseudonymizer, oslo *Oslo) *converter {
	return &converter{p: p, v: NewValidator(pseudo, oslo)}
}

// record converts raw and validates it into rec. On a fault it returns the
// kept field's column and the reason.
func (cv *converter) record(raw *rawRow, rec *ur.Record) (col int, err error) {
	p := cv.p
	for c := range numCols {
		b := raw[c][0]
		if len(p.sources[c]) == 2 {
			b = cv.join(c, raw[c][0], raw[c][1])
		}
		cv.f[c] = b
		if len(bytes.TrimSpace(b)) == 0 {
			continue // the Validator says whether it may be empty
		}
		var ok bool
		switch c {
		case colSubscriber:
			cv.f[c] = cv.subscriber(c, b)
		case colStartTime:
			if cv.f[c], err = cv.startTime(c, b); err != nil {
				return c, err
			}
		case colService:
			if s, found := p.services[foldName(string(b))]; found {
				cv.f[c] = []byte(s.String())
			}
		case colDuration:
			if p.clockDuration {
				if cv.f[c], ok = clockSeconds(cv.buf[c][:0], b); !ok {
					return c, ErrClock
				}
				cv.buf[c] = cv.f[c]
			}
		case colCharge:
			if cv.f[c], ok = decimalAmount(cv.buf[c][:0], b, p.decimal, p.thousands); !ok {
				return c, ErrNumberFormat
			}
			cv.buf[c] = cv.f[c]
		}
	}
	return cv.v.Record(&cv.f, rec)
}

// join puts a date and a time value together with one space.
func (cv *converter) join(c int, date, clock []byte) []byte {
	date, clock = bytes.TrimSpace(date), bytes.TrimSpace(clock)
	if len(date) == 0 && len(clock) == 0 {
		return nil
	}
	b := append(cv.buf[c][:0], date...)
	b = append(b, ' ')
	b = append(b, clock...)
	cv.buf[c] = b
	return b
}

// subscriber writes a number in national form as E.164: spaces dropped,
// a leading 00 read as '+', and the profile's national prefix put before a
// number without either. Without a national prefix the value is kept.
func (cv *converter) subscriber(c int, b []byte) []byte {
	if cv.p.nationalPrefix == "" {
		return b
	}
	out := cv.buf[c][:0]
	for _, r := range string(bytes.TrimSpace(b)) {
		if r != ' ' && r != '\u00a0' {
			out = append(out, string(r)...)
		}
	}
	switch {
	case bytes.HasPrefix(out, []byte("+")):
	case bytes.HasPrefix(out, []byte("00")):
		out = append(out[:0], append([]byte{'+'}, out[2:]...)...)
	default:
		out = append([]byte(cv.p.nationalPrefix), out...)
	}
	cv.buf[c] = out
	return out
}

// startTime turns a time in the profile's layout into RFC 3339 in UTC.
func (cv *converter) startTime(c int, b []byte) ([]byte, error) {
	p := cv.p
	if p.timeLayout == "" || cv.instant {
		return b, nil
	}
	t, err := time.Parse(p.timeLayout, string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, ErrTimeLayout // err quotes the value: never pass it on
	}
	u := t.Unix()
	if !p.layoutOff {
		if u, err = resolveWall(u, p.loc, p.repeated); err != nil {
			return nil, err
		}
	}
	out, ok := appendRFC3339Z(cv.buf[c][:0], u)
	if !ok {
		return nil, ErrTimeLayout
	}
	cv.buf[c] = out
	return out, nil
}

// resolveWall finds the instant at which clocks in loc showed wall (a wall
// clock time written as if it were UTC seconds).
//
// When summer time ends, an hour repeats (2026-10-25 02:00-03:00 in
// Europe/Oslo shows first at +02:00, then at +01:00): policy picks the
// earlier instant, the later one, or rejects the row. Earlier is the
// default because it is what a clock that has not yet been set back
// shows, and because the pipeline keeps only the month: in Europe/Oslo
// both readings are in the same month, so no choice changes a report.
// When summer time starts an hour is skipped (2026-03-29 02:00-03:00
// never happened in Oslo): such a time is always rejected, since no
// reading of it is right.
func resolveWall(wall int64, loc *time.Location, policy string) (int64, error) {
	var cand [2]int64
	n := 0
	// The offsets in force a day before and after cover both sides of
	// any transition; each is right if the instant it gives has it.
	for _, probe := range [2]int64{wall - 86400, wall + 86400} {
		_, off := time.Unix(probe, 0).In(loc).Zone()
		u := wall - int64(off)
		if _, o := time.Unix(u, 0).In(loc).Zone(); o == off && (n == 0 || cand[0] != u) {
			cand[n] = u
			n++
		}
	}
	switch {
	case n == 0:
		return 0, ErrTimeSkipped
	case n == 1:
		return cand[0], nil
	case policy == repeatReject:
		return 0, ErrTimeRepeated
	}
	lo, hi := min(cand[0], cand[1]), max(cand[0], cand[1])
	if policy == repeatLater {
		return hi, nil
	}
	return lo, nil
}

// appendRFC3339Z writes Unix time u as YYYY-MM-DDTHH:MM:SSZ.
func appendRFC3339Z(dst []byte, u int64) ([]byte, bool) {
	day := floorDiv(u, 86400)
	y, m, d := civilFromDays(day)
	if y < 0 || y > 9999 {
		return dst, false
	}
	s := int(u - day*86400)
	two := func(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }
	dst = two(dst, y/100)
	dst = two(dst, y%100)
	dst = two(append(dst, '-'), m)
	dst = two(append(dst, '-'), d)
	dst = two(append(dst, 'T'), s/3600)
	dst = two(append(dst, ':'), s/60%60)
	dst = two(append(dst, ':'), s%60)
	return append(dst, 'Z'), true
}

// clockSeconds reads h:mm:ss (any number of hour digits) or mm:ss as
// whole seconds.
func clockSeconds(dst, b []byte) ([]byte, bool) {
	parts := bytes.Split(bytes.TrimSpace(b), []byte(":"))
	if len(parts) < 2 || len(parts) > 3 {
		return dst, false
	}
	var s int64
	for i, p := range parts {
		if len(p) == 0 || len(p) > 9 || (i > 0 && len(p) != 2) {
			return dst, false
		}
		n, ok := parseCount(p)
		if !ok || (i > 0 && n > 59) {
			return dst, false
		}
		s = s*60 + n
	}
	return strconv.AppendInt(dst, s, 10), true
}

// decimalAmount writes an amount in the profile's number format as CSV v1
// writes it: optional sign, digits, '.' and decimals. Thousands separators
// must sit between groups of three digits, so that with a decimal comma
// "1.234" is refused unless '.' is the thousands separator: a misread
// amount is worse than a rejected row. With '.' and no thousands separator
// the value is CSV v1's already and is passed on untouched.
func decimalAmount(dst, b []byte, dec byte, thousands string) ([]byte, bool) {
	b = bytes.TrimSpace(b)
	if dec == '.' && thousands == "" {
		return b, true
	}
	out := dst[:0]
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		out = append(out, b[0])
		b = b[1:]
	}
	digits, group, grouped := 0, 0, false
	for len(b) > 0 {
		switch c := b[0]; {
		case c >= '0' && c <= '9':
			out = append(out, c)
			digits++
			group++
			b = b[1:]
			continue
		case thousands != "" && bytes.HasPrefix(b, []byte(thousands)):
			if group == 0 || group > 3 || (grouped && group != 3) {
				return dst, false
			}
			grouped, group = true, 0
			b = b[len(thousands):]
			continue
		}
		break
	}
	if digits == 0 || (grouped && group != 3) {
		return dst, false
	}
	if len(b) > 0 {
		if b[0] != dec || len(b) == 1 || len(b) > 5 {
			return dst, false
		}
		out = append(out, '.')
		for _, c := range b[1:] {
			if c < '0' || c > '9' {
				return dst, false
			}
			out = append(out, c)
		}
	}
	return out, true
}
