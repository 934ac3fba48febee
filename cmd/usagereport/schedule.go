package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"usagereport/schedule"
)

// runSchedule sends each month's reports on day D at HH:MM Europe/Oslo,
// until interrupted. It runs the same work as "send", which the delivery
// ledger makes safe to repeat: a catch-up or retry sends nothing twice.
func runSchedule(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "schedule", "--store DIR|URL --reports DIR --smtp-host H --from ADDR [--day D] [--at HH:MM] [flags]")
	storeSpec := storeFlag(fs)
	reports := fs.String("reports", "", "folder of the reports (made there first when missing)")
	day := fs.Int("day", 5, "day of the month to send on, 1 to 28 (the 5th: the month's exports are in by then)")
	at := fs.String("at", "08:00", "time of day to send at, HH:MM Europe/Oslo")
	catchUp := fs.Duration("catch-up", schedule.DefaultCatchUp, "run a slot missed while down if it is at most this old (0: never)")
	retry := fs.Duration("retry", schedule.DefaultRetry, "wait before a failed run is tried again")
	mailCfg := mailFlags(e, fs)
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	if *storeSpec == "" || *reports == "" {
		return usagef("--store and --reports are required")
	}
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		return fmt.Errorf("load time zone: %w", err)
	}
	sched, err := schedule.Parse(*day, *at, oslo)
	if err != nil {
		return usagef("%v", err)
	}
	cfg, err := mailCfg()
	if err != nil {
		return err
	}
	e.Logger.Info("mail configuration", slog.String("config", cfg.String()))
	job := func(ctx context.Context, slot time.Time) error {
		return sendMonth(ctx, e, *storeSpec, *reports, reportMonthOf(slot, oslo), cfg)
	}
	sc := schedule.New(sched, job, e.Logger, schedule.WithClock(envClock{e}),
		schedule.WithCatchUp(*catchUp), schedule.WithRetry(*retry))
	if err := sc.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "scheduled: day %d at %s Europe/Oslo; next run %s\n", *day, *at,
		sched.Next(e.Now()).In(oslo).Format("2006-01-02 15:04 MST"))
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return sc.Stop(stop)
}
