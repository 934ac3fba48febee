package ingest

import (
	"time"

	ur "usagereport"
)

// parseTime reads an RFC 3339 time with offset ("2026-10-03T14:22:05+02:00",
// "...Z", optional fraction) into Unix seconds, by hand: no time.Time per row.
func parseTime(b []byte) (int64, bool) {
	// YYYY-MM-DDTHH:MM:SS is 19 bytes, then fraction, then Z or ±HH:MM.
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	min, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(year, month) || hour > 23 || min > 59 || sec > 59 {
		return 0, false
	}
	rest := b[19:]
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 || i > 10 {
			return 0, false
		}
		rest = rest[i:]
	}
	var off int
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off = oh*3600 + om*60
		if rest[0] == '-' {
			off = -off
		}
	default:
		return 0, false
	}
	return daysFromCivil(year, month, day)*86400 + int64(hour*3600+min*60+sec-off), true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is Howard Hinnant's days_from_civil: days since 1970-01-01.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = int(yoe + era*400)
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if mp >= 10 {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// lastSunday returns the Unix day of the last Sunday of month m of year y.
func lastSunday(y, m int) int64 {
	last := daysFromCivil(y, m, daysIn(y, m))
	wd := (last + 4) % 7 // 1970-01-01 was a Thursday; 0 = Sunday
	if wd < 0 {
		wd += 7
	}
	return last - wd
}

// Oslo maps instants to Europe/Oslo months. Inside the years of the EU's
// summer-time rule (since 1996: +02:00 from the last Sunday of March 01:00
// UTC to the last Sunday of October 01:00 UTC, +01:00 otherwise) it computes
// the month from a small table, with no time.Time per row; outside them it
// asks the time package's zone database.
type Oslo struct {
	loc *time.Location
	// dst[y-firstRuleYear] = [start, end) of summer time in Unix seconds.
	dst [][2]int64
	// ruleFrom, ruleTo: [start, end) of the rule years in Unix seconds.
	ruleFrom, ruleTo int64
}

const (
	firstRuleYear = 1996
	lastRuleYear  = 2099
)

// NewOslo loads Europe/Oslo.
func NewOslo() (*Oslo, error) {
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		return nil, err
	}
	o := &Oslo{loc: loc, ruleFrom: daysFromCivil(firstRuleYear, 1, 1) * 86400, ruleTo: daysFromCivil(lastRuleYear+1, 1, 1) * 86400}
	for y := firstRuleYear; y <= lastRuleYear; y++ {
		o.dst = append(o.dst, [2]int64{lastSunday(y, 3)*86400 + 3600, lastSunday(y, 10)*86400 + 3600})
	}
	return o, nil
}

// Month returns the Europe/Oslo month of Unix time t.
func (o *Oslo) Month(t int64) ur.Month {
	day := floorDiv(t, 86400)
	y, _, _ := civilFromDays(day)
	if y < firstRuleYear || y > lastRuleYear {
		lt := time.Unix(t, 0).In(o.loc)
		return ur.MonthOf(lt.Year(), lt.Month())
	}
	off := int64(3600)
	if r := o.dst[y-firstRuleYear]; t >= r[0] && t < r[1] {
		off = 7200
	}
	ly, lm, _ := civilFromDays(floorDiv(t+off, 86400))
	return ur.MonthOf(ly, time.Month(lm))
}

// monthMemo remembers the months of the UTC hours a worker saw last. In
// the rule years the month of t is the same for the whole of its UTC
// hour: the offsets are whole hours, summer time starts and ends at 01:00
// UTC, so a local month starts on a UTC hour. A file's rows fall in a few
// hundred hours.
type monthMemo [1 << 10]struct {
	hour  int64 // UTC hour + 1; 0 for none
	month ur.Month
}

// month is o.Month(t), remembered in m by UTC hour.
func (m *monthMemo) month(o *Oslo, t int64) ur.Month {
	if t < o.ruleFrom || t >= o.ruleTo {
		return o.Month(t)
	}
	h := t/3600 + 1 // t > 0
	e := &m[h%int64(len(m))]
	if e.hour != h {
		e.hour, e.month = h, o.Month(t)
	}
	return e.month
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
