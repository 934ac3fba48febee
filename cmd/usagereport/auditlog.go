package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"
)

// runAuditLog prints the server's audit log: every download, sign-in,
// failed authentication and refused organisation.
func runAuditLog(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "audit-log", "--store DIR|URL [--since YYYY-MM-DD|RFC3339|DURATION]")
	storeSpec := fs.String("store", "", "the store: a folder (embedded) or a postgres:// URL")
	sinceFlag := fs.String("since", "", "print events from this date (UTC), time (RFC 3339) or this long ago (e.g. 24h); default all")
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	since, err := parseSince(*sinceFlag, e.Now())
	if err != nil {
		return usagef("--since: %v", err)
	}
	st, err := openStore(ctx, e, *storeSpec)
	if err != nil {
		return err
	}
	defer st.Close()
	evs, err := st.AuditEvents(ctx, since)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tORG\tREPORT\tOUTCOME\tREMOTE")
	for _, ev := range evs {
		org := "-"
		if ev.Org != 0 {
			org = ev.Org.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format(time.RFC3339), org, orDash(ev.Report), ev.Outcome, orDash(ev.Remote))
	}
	return tw.Flush()
}

// parseSince reads a date, an RFC 3339 time, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(dateLayout, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, errors.New("want YYYY-MM-DD, an RFC 3339 time or a duration such as 24h")
}
