package schedule

import (
	"fmt"
	"time"
)

// Schedule is "on day Day of every month at Hour:Minute in Location".
type Schedule struct {
	Day          int // 1 to 28, so that every month has it
	Hour, Minute int
	Location     *time.Location
}

// Parse reads the time of day as HH:MM.
func Parse(day int, at string, loc *time.Location) (Schedule, error) {
	t, err := time.Parse("15:04", at)
	if err != nil || len(at) != 5 {
		return Schedule{}, fmt.Errorf("time of day %q: want HH:MM", at)
	}
	s := Schedule{Day: day, Hour: t.Hour(), Minute: t.Minute(), Location: loc}
	return s, s.Validate()
}

// Validate says what is wrong with s.
func (s Schedule) Validate() error {
	if s.Day < 1 || s.Day > 28 {
		return fmt.Errorf("day %d: want 1 to 28, a day every month has", s.Day)
	}
	if s.Hour < 0 || s.Hour > 23 || s.Minute < 0 || s.Minute > 59 {
		return fmt.Errorf("time %02d:%02d is not a time of day", s.Hour, s.Minute)
	}
	if s.Location == nil {
		return fmt.Errorf("no time zone")
	}
	return nil
}

// Slot returns the instant of the run in the given month.
//
// time.Date leaves the choice open for a wall-clock time that a DST change
// skips or repeats, so this searches the instants around it: the first
// whose wall clock reads the wanted time, or, in a gap, the first after.
func (s Schedule) Slot(year int, month time.Month) time.Time {
	want := time.Date(year, month, s.Day, s.Hour, s.Minute, 0, 0, time.UTC) // the wall clock, as a comparable value
	guess := time.Date(year, month, s.Day, s.Hour, s.Minute, 0, 0, s.Location)
	for t := guess.Add(-3 * time.Hour); t.Before(guess.Add(3 * time.Hour)); t = t.Add(time.Minute) {
		if !wall(t.In(s.Location)).Before(want) {
			return t
		}
	}
	return guess
}

// wall returns t's wall clock reading as a UTC time.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// Next returns the first slot after t.
func (s Schedule) Next(t time.Time) time.Time {
	l := t.In(s.Location)
	y, m := l.Year(), l.Month()
	for {
		if slot := s.Slot(y, m); slot.After(t) {
			return slot
		}
		if m++; m > time.December {
			y, m = y+1, time.January
		}
	}
}

// Prev returns the latest slot at or before t.
func (s Schedule) Prev(t time.Time) time.Time {
	l := t.In(s.Location)
	y, m := l.Year(), l.Month()
	for {
		if slot := s.Slot(y, m); !slot.After(t) {
			return slot
		}
		if m--; m < time.January {
			y, m = y-1, time.December
		}
	}
}
