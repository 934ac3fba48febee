package ingest

import (
	"strings"
	"testing"

	ur "usagereport"
)

// TestTimeMemo checks the memo of months by start time against parseTime
// and Month: each time twice (the second time from the memo when it keeps
// it), after a time of the same date, hour and offset, so that what the
// key leaves out is checked on a hit.
func TestTimeMemo(t *testing.T) {
	o, err := NewOslo()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, warm, time string
	}{
		{"same hour", "2026-10-03T14:22:05+02:00", "2026-10-03T14:59:59+02:00"},
		{"minute 60", "2026-10-03T14:22:05+02:00", "2026-10-03T14:60:05+02:00"},
		{"second 60", "2026-10-03T14:22:05+02:00", "2026-10-03T14:22:60+02:00"},
		{"minute not digits", "2026-10-03T14:22:05+02:00", "2026-10-03T14:2x:05+02:00"},
		{"no colon before the seconds", "2026-10-03T14:22:05+02:00", "2026-10-03T14:22-05+02:00"},
		{"no colon before the minutes", "2026-10-03T14:22:05+02:00", "2026-10-03T14-22:05+02:00"},
		{"no colon in the offset", "2026-10-03T14:22:05+02:00", "2026-10-03T14:22:05+02-00"},
		{"half-hour offset", "2026-10-31T23:22:05+00:00", "2026-10-31T23:22:05+00:30"},
		{"half-hour offset at the month's end", "2026-10-31T23:10:00-00:30", "2026-10-31T23:40:00-00:30"},
		{"other offset", "2026-10-31T23:22:05+01:00", "2026-10-31T23:22:05-01:00"},
		{"Z", "2026-10-31T23:00:00Z", "2026-10-31T23:59:59Z"},
		{"z", "2026-10-31T22:00:00z", "2026-10-31T22:30:00z"},
		{"Z after +00:00", "2026-10-31T23:00:00+00:00", "2026-10-31T23:00:00Z"},
		{"fraction", "2026-10-31T22:59:59+00:00", "2026-10-31T22:59:59.999+00:00"},
		{"summer time ends", "2026-10-25T01:00:00+00:00", "2026-10-25T01:59:59+00:00"},
		{"new year", "2026-12-31T23:00:00Z", "2026-12-31T23:59:59Z"},
		{"a space for T", "2026-10-03 14:22:05+02:00", "2026-10-03 14:22:06+02:00"},
		{"29 February of a leap year", "2028-02-29T12:00:00+01:00", "2028-02-29T12:00:01+01:00"},
		{"29 February of another", "2027-02-28T12:00:00+01:00", "2027-02-29T12:00:00+01:00"},
		{"hour 24", "2026-10-03T23:00:00+02:00", "2026-10-03T24:00:00+02:00"},
		{"before the rule years", "1990-06-30T23:00:00+00:00", "1990-06-30T23:59:00+00:00"},
		{"NUL bytes", "2026-10-03T14:22:05+02:00", strings.Repeat("\x00", 25)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m timeMemo
			var months monthMemo
			for _, s := range []string{tt.warm, tt.time, tt.time} {
				sec, wantOK := parseTime([]byte(s))
				var want ur.Month
				if wantOK {
					want = o.Month(sec)
				}
				got, ok := m.month(o, &months, []byte(s))
				if ok != wantOK || got != want {
					t.Errorf("month(%q) = %v, %v; want %v, %v", s, got, ok, want, wantOK)
				}
			}
		})
	}
}

// FuzzTimeMemo checks the memo against parseTime and Month on any time
// after any other.
func FuzzTimeMemo(f *testing.F) {
	f.Add("2026-10-03T14:22:05+02:00", "2026-10-03T14:22:65+02:00")
	f.Add("2026-10-31T23:00:00Z", "2026-10-31T23:59:59z")
	f.Add("2026-10-31T23:00:00+00:00", "2026-10-31T23:40:00+00:30")
	o, err := NewOslo()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var m timeMemo
		var months monthMemo
		for _, s := range []string{a, b, a, b} {
			sec, wantOK := parseTime([]byte(s))
			var want ur.Month
			if wantOK {
				want = o.Month(sec)
			}
			if got, ok := m.month(o, &months, []byte(s)); ok != wantOK || got != want {
				t.Fatalf("month(%q) = %v, %v; want %v, %v", s, got, ok, want, wantOK)
			}
		}
	})
}

// TestOrgMemo checks the memo of organisation numbers against ParseOrg,
// each number after one that shares its first eight bytes.
func TestOrgMemo(t *testing.T) {
	tests := []struct {
		name, warm, org string
	}{
		{"same", "974760673", "974760673"},
		{"other check digit", "974760673", "974760674"},
		{"not a digit last", "974760673", "97476067x"},
		{"longer", "974760673", "9747606730"},
		{"NUL bytes", "974760673", "\x00\x00\x00\x00\x00\x00\x00\x00\x00"},
		{"zero", "000000000", "000000000"},
		{"empty", "974760673", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m orgMemo
			for _, s := range []string{tt.warm, tt.org, tt.org} {
				want, err := ur.ParseOrg([]byte(s))
				if got, ok := m.parse([]byte(s)); ok != (err == nil) || got != want {
					t.Errorf("parse(%q) = %v, %v; want %v, %v", s, got, ok, want, err)
				}
			}
		})
	}
}

// TestCCMemo checks the memo of cost centres against ccNames: names that
// share their length and first and last eight bytes (one slot of the
// memo), names shorter than a word, and empty.
func TestCCMemo(t *testing.T) {
	c := newCCNames()
	var m ccMemo
	names := []string{
		"Prosjekt 1 Oslo sentrum", "Prosjekt 2 Oslo sentrum", "Prosjekt 3 Oslo sentrum",
		"", "a", "ab", "Salg", "Salg ", "1234567", "12345678", "123456789",
	}
	for pass := range 3 {
		for _, n := range names {
			want, wantID, wantOK := c.get([]byte(n))
			name, id, ok := m.get(c, []byte(n))
			if name != want || id != wantID || ok != wantOK {
				t.Fatalf("pass %d: get(%q) = %q, %d, %v; ccNames %q, %d, %v", pass, n, name, id, ok, want, wantID, wantOK)
			}
			if pass == 0 && !ok {
				c.add([]byte(n))
			}
		}
	}
}
