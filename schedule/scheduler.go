package schedule

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"usagereport/internal/clock"
)

// Defaults of a Scheduler.
const (
	// DefaultCatchUp: a slot missed by up to two weeks is run at start.
	DefaultCatchUp = 14 * 24 * time.Hour
	// DefaultRetry: a failed run is tried again an hour later, until the
	// next slot.
	DefaultRetry = time.Hour
	// maxSleep bounds one sleep, so that the clock is read again at least
	// this often: a timer set for a month would not notice a suspended
	// machine or a corrected clock.
	maxSleep = time.Hour
)

// Log attribute keys.
const (
	attrSlot = "slot"
	attrNext = "next"
)

// Job is the work of one slot. It must be idempotent: a slot may run again
// after a restart (catch-up) or a failure (retry).
type Job func(ctx context.Context, slot time.Time) error

// Scheduler runs a Job on a Schedule until stopped.
type Scheduler struct {
	sched   Schedule
	job     Job
	logger  *slog.Logger
	clock   clock.Clock
	catchUp time.Duration
	retry   time.Duration

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Option changes a Scheduler.
type Option func(*Scheduler)

// WithClock injects the clock; tests advance a fake one in its Sleep and
// never wait.
func WithClock(c clock.Clock) Option { return func(s *Scheduler) { s.clock = c } }

// WithCatchUp sets how old a missed slot may be and still run at start; 0
// runs none.
func WithCatchUp(d time.Duration) Option { return func(s *Scheduler) { s.catchUp = d } }

// WithRetry sets the wait before a failed slot runs again.
func WithRetry(d time.Duration) Option { return func(s *Scheduler) { s.retry = d } }

// New returns a Scheduler of job on sched.
func New(sched Schedule, job Job, logger *slog.Logger, opts ...Option) *Scheduler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{sched: sched, job: job, logger: logger, clock: clock.Real{},
		catchUp: DefaultCatchUp, retry: DefaultRetry}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Start runs the scheduler in a goroutine until ctx ends or Stop.
func (s *Scheduler) Start(ctx context.Context) error {
	if err := s.sched.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return errors.New("scheduler already started")
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.run(ctx)
	}()
	return nil
}

// Stop stops the scheduler and waits for a running job to return, or for
// ctx to end.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the scheduler's goroutine has ended.
func (s *Scheduler) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

func (s *Scheduler) run(ctx context.Context) {
	now := s.clock.Now()
	slot := s.sched.Next(now)
	if prev := s.sched.Prev(now); s.catchUp > 0 && now.Sub(prev) <= s.catchUp {
		slot = prev
		s.logger.Info("catching up on the latest slot", slog.Time(attrSlot, slot))
	}
	at := slot
	for {
		if !s.sleepUntil(ctx, at) {
			return
		}
		err := s.job(ctx, slot)
		if ctx.Err() != nil {
			return
		}
		next := s.sched.Next(slot)
		if err != nil {
			if retry := s.clock.Now().Add(s.retry); retry.Before(next) {
				s.logger.Error("scheduled run failed; will retry", slog.Time(attrSlot, slot), slog.Time(attrNext, retry), slog.String("error", err.Error()))
				at = retry
				continue
			}
			s.logger.Error("scheduled run failed; no retry before the next slot", slog.Time(attrSlot, slot), slog.String("error", err.Error()))
		}
		slot, at = next, next
		s.logger.Info("next run", slog.Time(attrNext, slot))
	}
}

// sleepUntil sleeps in steps of at most maxSleep until the clock reads at
// or after t; false when ctx ended.
func (s *Scheduler) sleepUntil(ctx context.Context, t time.Time) bool {
	for {
		d := t.Sub(s.clock.Now())
		if d <= 0 {
			return ctx.Err() == nil
		}
		if err := s.clock.Sleep(ctx, min(d, maxSleep)); err != nil {
			return false
		}
	}
}
