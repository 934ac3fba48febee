package main

import (
	"context"
	"fmt"
	"time"

	ur "usagereport"
	"usagereport/export"
)

// Retention rules the seed promises: a month's records are kept for
// defaultRetentionMonths after the month, and an organisation's records for
// orgGraceMonths after its agreement ended.
const (
	defaultRetentionMonths = 13
	orgGraceMonths         = 6
)

// Publication records hold only published cells, and a workbook shows up
// to export.MaxXLSXHistory earlier months from them: they are kept that
// many months longer than the records, so that a report of any month the
// store still holds shows its whole history. An organisation's records go
// with its data.

func runPurge(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "purge", "--store DIR|URL [--retention-months 13] [--now YYYY-MM-DD] [--dry-run]")
	storeSpec := storeFlag(fs)
	retention := fs.Int("retention-months", defaultRetentionMonths, "keep this many months before the current one (Europe/Oslo); older months are deleted")
	nowFlag := fs.String("now", "", "today's date, YYYY-MM-DD (for tests; default: the clock)")
	dryRun := fs.Bool("dry-run", false, "count what would be deleted, delete nothing")
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	if *retention < 1 {
		return usagef("--retention-months must be at least 1")
	}
	today, err := purgeToday(e, *nowFlag)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, e, *storeSpec)
	if err != nil {
		return err
	}
	defer st.Close()

	// A month is deleted once it ended more than the retention period ago:
	// on 2026-12-02 with 13 months, 2025-10 and before go, 2025-11 stays.
	cutoff := ur.MonthOf(today.Year(), today.Month()) - ur.Month(*retention)
	verb := "deleted"
	if *dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(e.Stdout, "purge on %s: months before %s, organisations %d months after their agreement ended\n",
		today.Format(dateLayout), cutoff, orgGraceMonths)

	months, err := st.Months(ctx)
	if err != nil {
		return err
	}
	var total int64
	for _, m := range months {
		if m >= cutoff {
			break
		}
		var n int64
		if *dryRun {
			n, err = scanCount(ctx, st, m, func(*ur.Record) bool { return true })
		} else {
			// Months go one at a time, oldest first, so that each count is
			// one month's.
			n, err = st.DeleteMonthsBefore(ctx, m+1)
		}
		if err != nil {
			return err
		}
		total += n
		fmt.Fprintf(e.Stdout, "%s month %s: %d records\n", verb, m, n)
	}
	pubCutoff := cutoff - export.MaxXLSXHistory
	if np, err := countPublications(ctx, st, func(p ur.Publication) bool { return p.Month < pubCutoff }); err != nil {
		return err
	} else if np > 0 {
		if !*dryRun {
			if np, err = st.DeletePublicationsBefore(ctx, pubCutoff); err != nil {
				return err
			}
		}
		fmt.Fprintf(e.Stdout, "%s the publication records of months before %s: %d\n", verb, pubCutoff, np)
	}

	orgs, err := st.Orgs(ctx)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if o.AgreementEnd.IsZero() {
			continue
		}
		due := o.AgreementEnd.AddDate(0, orgGraceMonths, 0)
		if today.Before(due) {
			continue
		}
		var n int64
		var np int
		if *dryRun {
			n, err = countOrgRecords(ctx, st, o.Org, cutoff)
			if err == nil {
				np, err = countPublications(ctx, st, func(p ur.Publication) bool { return p.Org == o.Org })
			}
		} else {
			// The records first: a purge cut short between the two
			// leaves publication records without records, which a
			// report writes as they are, never the other way round.
			n, err = st.DeleteOrg(ctx, o.Org)
			if err == nil {
				np, err = st.DeletePublications(ctx, o.Org)
			}
		}
		if err != nil {
			return err
		}
		total += n
		fmt.Fprintf(e.Stdout, "%s organisation %s (agreement ended %s): %d records\n",
			verb, o.Org, o.AgreementEnd.Format(dateLayout), n)
		if np > 0 {
			fmt.Fprintf(e.Stdout, "%s organisation %s: %d publication records\n", verb, o.Org, np)
		}
	}
	fmt.Fprintf(e.Stdout, "%s %d records in all\n", verb, total)
	return nil
}

// purgeToday returns today's date in Europe/Oslo, or the --now date.
func purgeToday(e *Env, now string) (time.Time, error) {
	if now != "" {
		t, err := time.Parse(dateLayout, now)
		if err != nil {
			return time.Time{}, usagef("--now: want YYYY-MM-DD")
		}
		return t, nil
	}
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		return time.Time{}, fmt.Errorf("load Europe/Oslo: %w", err)
	}
	t := e.Now().In(oslo)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
}

func scanCount(ctx context.Context, st ur.Store, m ur.Month, keep func(*ur.Record) bool) (int64, error) {
	var n int64
	err := st.ScanMonth(ctx, m, func(r *ur.Record) error {
		if keep(r) {
			n++
		}
		return nil
	})
	return n, err
}

// countOrgRecords counts org's records in the months a purge keeps.
func countOrgRecords(ctx context.Context, st ur.Store, org ur.Org, from ur.Month) (int64, error) {
	months, err := st.Months(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, m := range months {
		if m < from {
			continue // counted with its month
		}
		n, err := scanCount(ctx, st, m, func(r *ur.Record) bool { return r.Org == org })
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// countPublications counts the publication records (versions) that match.
func countPublications(ctx context.Context, st ur.Publisher, match func(ur.Publication) bool) (int, error) {
	all, err := st.Publications(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range all {
		if match(p) {
			n++
		}
	}
	return n, nil
}
