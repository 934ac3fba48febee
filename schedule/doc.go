// Package schedule runs a job once a month, on day D at HH:MM in a time zone
// (Europe/Oslo), with the clock (internal/clock) injected so that tests never
// sleep.
//
// A wall-clock time the daylight saving change skips (02:30 on the last
// Sunday of March) runs at the first instant after the gap (03:00 CEST); one
// it repeats (02:30 on the last Sunday of October) runs once, at the first.
// On start, the scheduler runs the latest slot that passed within its
// catch-up window, since it cannot know whether that run happened while it
// was down: the job must therefore be idempotent, as the email job is by
// its delivery ledger.
//
// What it never does: run a slot twice in one process, or keep a single
// timer for a month (it re-reads the clock at least hourly, so a suspended
// machine or a changed clock is noticed).
//
//	s := schedule.Schedule{Day: 5, Hour: 8, Minute: 0, Location: oslo}
//	sc := schedule.New(s, job, logger)
//	sc.Start(ctx)
//	defer sc.Stop(ctx)
package schedule
