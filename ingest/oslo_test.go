package ingest

import (
	"strings"
	"testing"
	"time"

	ur "usagereport"
)

func TestOsloMonth(t *testing.T) {
	o, err := NewOslo()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want string
	}{
		// Month ends in summer time (+02:00).
		{"2026-09-30T23:59:59+02:00", "2026-09"},
		{"2026-09-30T22:00:00Z", "2026-10"},
		{"2026-09-30T21:59:59Z", "2026-09"},
		{"2026-10-01T00:00:00+02:00", "2026-10"},
		// Month ends in winter time (+01:00).
		{"2026-10-31T23:59:59+01:00", "2026-10"},
		{"2026-10-31T23:00:00Z", "2026-11"},
		{"2026-10-31T22:59:59Z", "2026-10"},
		{"2026-11-30T23:30:00Z", "2026-12"},
		{"2026-12-31T23:00:00Z", "2027-01"},
		// Other offsets than Oslo's.
		{"2026-10-31T18:30:00-05:00", "2026-11"},
		{"2026-11-01T06:30:00+09:00", "2026-10"},
		// DST ends 2026-10-25 01:00 UTC: the repeated hour is one month.
		{"2026-10-25T02:30:00+02:00", "2026-10"},
		{"2026-10-25T02:30:00+01:00", "2026-10"},
		// DST starts 2026-03-29 01:00 UTC; March ends in summer time.
		{"2026-03-31T22:00:00Z", "2026-04"},
		{"2026-03-31T21:59:59Z", "2026-03"},
		// Fractions, lower-case z, leap day.
		{"2028-02-29T12:00:00.123456z", "2028-02"},
		// Outside the table: the zone database decides.
		{"1990-12-31T23:30:00Z", "1991-01"},
		{"2150-06-30T22:30:00Z", "2150-07"},
	}
	loc, _ := time.LoadLocation("Europe/Oslo")
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sec, ok := parseTime([]byte(tt.in))
			if !ok {
				t.Fatalf("parseTime(%q) failed", tt.in)
			}
			if got := o.Month(sec).String(); got != tt.want {
				t.Errorf("Month(%s) = %s, want %s", tt.in, got, tt.want)
			}
			// The standard library agrees.
			ref, err := time.Parse(time.RFC3339Nano, tt.in)
			if err == nil {
				lt := ref.In(loc)
				if got, want := o.Month(sec), ur.MonthOf(lt.Year(), lt.Month()); got != want {
					t.Errorf("Month(%s) = %s, time package says %s", tt.in, got, want)
				}
				if ref.Unix() != sec {
					t.Errorf("parseTime(%s) = %d, time package says %d", tt.in, sec, ref.Unix())
				}
			}
		})
	}
}

// TestOsloEveryHour checks the DST table against the zone database for
// every hour of the years the table covers around now.
func TestOsloEveryHour(t *testing.T) {
	o, err := NewOslo()
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Oslo")
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	end := time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for s := start; s < end; s += 1800 {
		lt := time.Unix(s, 0).In(loc)
		if got, want := o.Month(s), ur.MonthOf(lt.Year(), lt.Month()); got != want {
			t.Fatalf("Month(%v) = %s, want %s", time.Unix(s, 0).UTC(), got, want)
		}
	}
}

// TestMonthMemo checks the memo of months by UTC hour against Month, every
// 7 minutes 13 seconds around the changes to and from summer time and the
// ends of the rule years, twice so that the second pass reads the memo.
func TestMonthMemo(t *testing.T) {
	o, err := NewOslo()
	if err != nil {
		t.Fatal(err)
	}
	var m monthMemo
	for pass := range 2 {
		for _, from := range []time.Time{
			time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 23, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 29, 0, 0, 0, 0, time.UTC),
			time.Date(1995, 12, 29, 0, 0, 0, 0, time.UTC),
			time.Date(2099, 12, 29, 0, 0, 0, 0, time.UTC),
			time.Date(1895, 1, 1, 0, 0, 0, 0, time.UTC),
		} {
			for s := from.Unix(); s < from.Unix()+8*86400; s += 433 {
				if got, want := m.month(o, s), o.Month(s); got != want {
					t.Fatalf("pass %d: memo says %s for %v, Month %s", pass, got, time.Unix(s, 0).UTC(), want)
				}
			}
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-10-03T14:22:05+02:00", "2026-10-31T23:00:00Z", "2028-02-29T12:00:00.5-01:30", "2026-13-01T00:00:00Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sec, ok := parseTime([]byte(s))
		ref, err := time.Parse(time.RFC3339Nano, s)
		if ok && err == nil && ref.Unix() != sec {
			t.Errorf("parseTime(%q) = %d, time package %d", s, sec, ref.Unix())
		}
		// RFC 3339 also allows 't', 'z' and a space, which the time
		// package does not; elsewhere the two must agree.
		if ok && err != nil && !strings.ContainsAny(s, "tz ") {
			t.Errorf("parseTime(%q) accepted what the time package refuses: %v", s, err)
		}
	})
}
