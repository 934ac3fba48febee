package schedule

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func oslo(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSlot(t *testing.T) {
	loc := oslo(t)
	tests := []struct {
		name       string
		year       int
		month      time.Month
		day        int
		at         string
		want       string // UTC
		wantOffset int    // hours east of UTC at the slot
	}{
		{"winter", 2026, time.January, 3, "08:00", "2026-01-03T07:00:00Z", 1},
		{"summer", 2026, time.July, 3, "08:00", "2026-07-03T06:00:00Z", 2},
		// Last Sunday of March 2027: 02:00 CET jumps to 03:00 CEST.
		{"in the spring gap", 2027, time.March, 28, "02:30", "2027-03-28T01:00:00Z", 2},
		{"at the gap's start", 2027, time.March, 28, "02:00", "2027-03-28T01:00:00Z", 2},
		{"before the gap", 2027, time.March, 28, "01:59", "2027-03-28T00:59:00Z", 1},
		{"after the gap", 2027, time.March, 28, "03:00", "2027-03-28T01:00:00Z", 2},
		// Last Sunday of October 2026: 03:00 CEST falls back to 02:00 CET,
		// so 02:00 to 02:59 happen twice: the first counts.
		{"in the autumn overlap", 2026, time.October, 25, "02:30", "2026-10-25T00:30:00Z", 2},
		{"at the overlap's start", 2026, time.October, 25, "02:00", "2026-10-25T00:00:00Z", 2},
		{"after the overlap", 2026, time.October, 25, "03:00", "2026-10-25T02:00:00Z", 1},
		{"midnight", 2026, time.October, 25, "00:00", "2026-10-24T22:00:00Z", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.day, tt.at, loc)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Slot(tt.year, tt.month)
			if !got.Equal(utc(tt.want)) {
				t.Errorf("Slot = %v (%v), want %s", got.UTC(), got.In(loc), tt.want)
			}
			if _, off := got.In(loc).Zone(); off != tt.wantOffset*3600 {
				t.Errorf("offset at the slot %d s, want %d h", off, tt.wantOffset)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	loc := oslo(t)
	for _, tt := range []struct {
		day int
		at  string
	}{{0, "08:00"}, {29, "08:00"}, {3, "8:00"}, {3, "24:00"}, {3, "08:60"}, {3, "0800"}} {
		if _, err := Parse(tt.day, tt.at, loc); err == nil {
			t.Errorf("Parse(%d, %q) succeeded", tt.day, tt.at)
		}
	}
}

func TestNextAndPrev(t *testing.T) {
	loc := oslo(t)
	s, _ := Parse(3, "08:00", loc)
	for _, tt := range []struct {
		t          string
		next, prev string
	}{
		{"2026-11-03T06:59:59Z", "2026-11-03T07:00:00Z", "2026-10-03T06:00:00Z"},
		{"2026-11-03T07:00:00Z", "2026-12-03T07:00:00Z", "2026-11-03T07:00:00Z"},
		{"2026-12-31T23:30:00Z", "2027-01-03T07:00:00Z", "2026-12-03T07:00:00Z"},
	} {
		now := utc(tt.t)
		if got := s.Next(now); !got.Equal(utc(tt.next)) {
			t.Errorf("Next(%s) = %v, want %s", tt.t, got.UTC(), tt.next)
		}
		if got := s.Prev(now); !got.Equal(utc(tt.prev)) {
			t.Errorf("Prev(%s) = %v, want %s", tt.t, got.UTC(), tt.prev)
		}
	}
}

// fakeClock is a clock that a sleep advances at once.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

type run struct{ Slot, At time.Time }

// runScheduler starts a scheduler at start on the fake clock and returns
// its first n runs. fail says whether the i-th run (from 0) fails.
func runScheduler(t *testing.T, s Schedule, start time.Time, n int, fail func(i int) bool, opts ...Option) []run {
	t.Helper()
	clock := &fakeClock{now: start}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs []run
	job := func(ctx context.Context, slot time.Time) error {
		runs = append(runs, run{slot.UTC(), clock.Now().UTC()})
		i := len(runs) - 1
		if len(runs) == n {
			cancel()
		}
		if fail != nil && fail(i) {
			return errors.New("failed")
		}
		return nil
	}
	sc := New(s, job, nil, append([]Option{WithClock(clock)}, opts...)...)
	if err := sc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduler did not reach the runs")
	}
	if err := sc.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	return runs
}

func runsAt(times ...string) []run {
	var out []run
	for _, s := range times {
		out = append(out, run{utc(s), utc(s)})
	}
	return out
}

func TestSchedulerAcrossSpringDST(t *testing.T) {
	s, _ := Parse(28, "02:30", oslo(t))
	got := runScheduler(t, s, utc("2027-01-30T12:00:00Z"), 4, nil, WithCatchUp(0))
	want := runsAt(
		"2027-02-28T01:30:00Z", // CET
		"2027-03-28T01:00:00Z", // 02:30 does not exist: 03:00 CEST
		"2027-04-28T00:30:00Z", // CEST
		"2027-05-28T00:30:00Z",
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

func TestSchedulerAcrossAutumnDST(t *testing.T) {
	s, _ := Parse(25, "02:30", oslo(t))
	got := runScheduler(t, s, utc("2026-09-26T00:00:00Z"), 3, nil, WithCatchUp(0))
	want := runsAt(
		"2026-10-25T00:30:00Z", // the first 02:30, CEST; not again at 02:30 CET
		"2026-11-25T01:30:00Z", // CET
		"2026-12-25T01:30:00Z",
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

func TestSchedulerKeepsLocalTimeAllYear(t *testing.T) {
	loc := oslo(t)
	s, _ := Parse(3, "08:00", loc)
	runs := runScheduler(t, s, utc("2026-01-04T00:00:00Z"), 12, nil, WithCatchUp(0))
	if len(runs) != 12 {
		t.Fatalf("%d runs, want 12", len(runs))
	}
	for i, r := range runs {
		l := r.At.In(loc)
		if l.Day() != 3 || l.Hour() != 8 || l.Minute() != 0 || !r.At.Equal(r.Slot) {
			t.Errorf("run %d at %v, want the 3rd at 08:00 Oslo time", i, l)
		}
		if want := time.Month((i+1)%12 + 1); l.Month() != want {
			t.Errorf("run %d in %v, want %v", i, l.Month(), want)
		}
	}
}

func TestSchedulerCatchesUpAfterDowntime(t *testing.T) {
	s, _ := Parse(3, "08:00", oslo(t))
	tests := []struct {
		name  string
		start string
		opts  []Option
		want  []run
	}{
		{
			name:  "down over the slot: runs at start",
			start: "2026-11-10T12:00:00Z",
			want: []run{
				{utc("2026-11-03T07:00:00Z"), utc("2026-11-10T12:00:00Z")},
				{utc("2026-12-03T07:00:00Z"), utc("2026-12-03T07:00:00Z")},
			},
		},
		{
			name:  "slot beyond the catch-up window: waits for the next",
			start: "2026-11-30T12:00:00Z",
			want:  runsAt("2026-12-03T07:00:00Z", "2027-01-03T07:00:00Z"),
		},
		{
			name:  "catch-up off",
			start: "2026-11-10T12:00:00Z",
			opts:  []Option{WithCatchUp(0)},
			want:  runsAt("2026-12-03T07:00:00Z", "2027-01-03T07:00:00Z"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runScheduler(t, s, utc(tt.start), 2, nil, tt.opts...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSchedulerRetriesAFailedRun(t *testing.T) {
	s, _ := Parse(3, "08:00", oslo(t))
	got := runScheduler(t, s, utc("2026-11-01T00:00:00Z"), 3, func(i int) bool { return i == 0 }, WithRetry(2*time.Hour))
	want := []run{
		{utc("2026-11-03T07:00:00Z"), utc("2026-11-03T07:00:00Z")},
		{utc("2026-11-03T07:00:00Z"), utc("2026-11-03T09:00:00Z")},
		{utc("2026-12-03T07:00:00Z"), utc("2026-12-03T07:00:00Z")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

// TestStopWhileWaiting stops a scheduler that waits on the real clock.
func TestStopWhileWaiting(t *testing.T) {
	s, _ := Parse(3, "08:00", oslo(t))
	sc := New(s, func(context.Context, time.Time) error { t.Error("the job ran"); return nil }, nil, WithCatchUp(0))
	if err := sc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := sc.Start(context.Background()); err == nil {
		t.Error("a second Start succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sc.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// TestSchedulerOnTheFifth sends on the 5th at 08:00 Oslo time, the day users
// ask for, through both DST changes of 2027 (28 March, 31 October): 07:00
// UTC in winter, 06:00 UTC in summer. Down over the 5th of April (just
// after the spring change), it catches up once at start.
func TestSchedulerOnTheFifth(t *testing.T) {
	s, err := Parse(5, "08:00", oslo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a year", func(t *testing.T) {
		got := runScheduler(t, s, utc("2027-02-10T00:00:00Z"), 10, nil, WithCatchUp(0))
		want := runsAt(
			"2027-03-05T07:00:00Z", // CET
			"2027-04-05T06:00:00Z", // CEST since 28 March
			"2027-05-05T06:00:00Z",
			"2027-06-05T06:00:00Z",
			"2027-07-05T06:00:00Z",
			"2027-08-05T06:00:00Z",
			"2027-09-05T06:00:00Z",
			"2027-10-05T06:00:00Z",
			"2027-11-05T07:00:00Z", // CET since 31 October
			"2027-12-05T07:00:00Z",
		)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("runs (-want +got):\n%s", diff)
		}
	})
	t.Run("down over the slot", func(t *testing.T) {
		got := runScheduler(t, s, utc("2027-04-07T09:15:00Z"), 2, nil)
		want := []run{
			{utc("2027-04-05T06:00:00Z"), utc("2027-04-07T09:15:00Z")}, // the catch-up, once
			{utc("2027-05-05T06:00:00Z"), utc("2027-05-05T06:00:00Z")},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("runs (-want +got):\n%s", diff)
		}
	})
}
