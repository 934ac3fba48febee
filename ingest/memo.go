package ingest

import (
	"encoding/binary"

	ur "usagereport"
)

// A file repeats its organisation numbers and the hours of its start
// times over and over: a few hundred of each against millions of rows. A
// worker's Validator remembers the last ones it checked in small
// direct-mapped tables, keyed by the field's raw bytes read as words, so
// that a row checks only what varies (a time's minutes and seconds) and
// skips the mod-11 sum, the calendar and the summer-time rule. A miss
// checks the field in full, as before; only a field that passed is
// remembered.

// timeMemo maps a start time's date, hour and whole-hour offset to its
// Europe/Oslo month.
type timeMemo [1 << 12]timeEntry // 128 KiB: a file's rows span some 750 hours

type timeEntry struct {
	date, hour, off uint64 // the key (see timeKey); off 0 for none
	month           ur.Month
}

// timeKey reads b, an RFC 3339 time, as the key of its month: its bytes
// 0-7 ("YYYY-MM-"), 8-13 ("DDTHH:") and its offset with its length. It
// reports false for a time the memo does not keep: one with a fraction of
// a second, or an offset that is not a whole hour (its local hour then
// spans two UTC hours, which may fall in two months).
func timeKey(b []byte) (date, hour, off uint64, ok bool) {
	switch {
	case len(b) == 25 && (b[19] == '+' || b[19] == '-') && b[23] == '0' && b[24] == '0':
		off = binary.LittleEndian.Uint64(b[17:]) >> 16 // "+HH:00"
	case len(b) == 20 && (b[19] == 'Z' || b[19] == 'z'):
		off = uint64(b[19])
	default:
		return 0, 0, 0, false
	}
	date = binary.LittleEndian.Uint64(b)
	hour = binary.LittleEndian.Uint64(b[8:]) & (1<<48 - 1)
	return date, hour, off | uint64(len(b))<<56, true
}

// minSec reports whether b's bytes 13-18 are ":MM:SS" with a minute and a
// second of 0 to 59: what timeKey leaves out, but for the separator at 13.
func minSec(b []byte) bool {
	return b[14] >= '0' && b[14] <= '5' && b[15] >= '0' && b[15] <= '9' && b[16] == ':' &&
		b[17] >= '0' && b[17] <= '5' && b[18] >= '0' && b[18] <= '9'
}

// month returns the Europe/Oslo month of the start time b, checking it as
// parseTime does; false for a time parseTime refuses.
func (m *timeMemo) month(o *Oslo, months *monthMemo, b []byte) (ur.Month, bool) {
	date, hour, off, keep := timeKey(b)
	var e *timeEntry
	if keep {
		e = &m[(date^hour*0x9e3779b97f4a7c15^off)*0xbf58476d1ce4e5b9>>52]
		if e.date == date && e.hour == hour && e.off == off && minSec(b) {
			return e.month, true
		}
	}
	start, ok := parseTime(b)
	if !ok {
		return 0, false
	}
	month := months.month(o, start)
	if keep {
		e.date, e.hour, e.off, e.month = date, hour, off, month
	}
	return month, true
}

// orgMemo maps the bytes of a valid organisation number to it.
type orgMemo [1 << 8]struct {
	key  uint64 // the first 8 digits, read as a word
	last byte   // the check digit; 0 for none
	org  ur.Org
}

// parse is ur.ParseOrg, remembered.
func (m *orgMemo) parse(b []byte) (ur.Org, bool) {
	if len(b) != 9 {
		return 0, false
	}
	key := binary.LittleEndian.Uint64(b)
	e := &m[key*0x9e3779b97f4a7c15>>56]
	if e.key == key && e.last == b[8] && e.last != 0 {
		return e.org, true
	}
	org, err := ur.ParseOrg(b)
	if err != nil {
		return 0, false
	}
	e.key, e.last, e.org = key, b[8], org
	return org, true
}

// ccMemo remembers the interned names and ids of the cost centres a
// worker saw last: ccNames.get hashes every byte of the name and follows
// two pointers to compare it, where this hashes two words of it and
// compares once. 1,024 entries (24 KiB): 4,096 remembered more of our
// generator's 1,500 cost centres, and cost more in cache misses than the
// lookups they spared (perf: ccMemo.get and ccNames.find 3.6 + 0.7 % of
// the ingest, against 2.0 + 1.0 %).
type ccMemo [1 << 10]struct {
	name string
	id   uint32 // 0 for none
}

// get is c.get, remembered.
func (m *ccMemo) get(c *ccNames, b []byte) (string, uint32, bool) {
	var lo, hi uint64
	if n := len(b); n >= 8 {
		lo, hi = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	} else {
		for i, x := range b {
			lo |= uint64(x) << (8 * i)
		}
	}
	e := &m[(lo^hi*0x9e3779b97f4a7c15^uint64(len(b)))*0xbf58476d1ce4e5b9>>54]
	if e.id != 0 && e.name == string(b) {
		return e.name, e.id, true
	}
	name, id, ok := c.get(b)
	if ok {
		e.name, e.id = name, id
	}
	return name, id, ok
}
