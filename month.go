package usagereport

import (
	"fmt"
	"time"
)

// Month is a calendar month in Europe/Oslo, counted as year*12 + month-1.
type Month int32

// MonthOf returns the month of year y.
func MonthOf(y int, m time.Month) Month { return Month(y*12 + int(m) - 1) }

// Year returns the month's year.
func (m Month) Year() int { return int(m) / 12 }

// Month returns the month of the year.
func (m Month) Month() time.Month { return time.Month(int(m)%12 + 1) }

// String writes YYYY-MM.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year(), int(m.Month())) }

// FirstDay returns the first day of the month as a date (midnight UTC).
func (m Month) FirstDay() time.Time {
	return time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// EpochDay returns the first day of the month as days since 1970-01-01, the
// Parquet DATE representation.
func (m Month) EpochDay() int32 { return int32(m.FirstDay().Unix() / 86400) }

// ParseMonth reads YYYY-MM.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return 0, fmt.Errorf("month %q: want YYYY-MM", s)
	}
	return MonthOf(t.Year(), t.Month()), nil
}
