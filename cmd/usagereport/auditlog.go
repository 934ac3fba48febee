package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	ur "usagereport"
)

// runAuditLog prints the server's audit log: every download, sign-in,
// failed authentication and refused organisation.
func runAuditLog(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "audit-log", "--store DIR|URL [--since YYYY-MM-DD|RFC3339|DURATION]")
	storeSpec := storeFlag(fs)
	sinceFlag := fs.String("since", "", "print events from this date (UTC), time (RFC 3339) or this long ago (e.g. 24h); default all")
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	since, err := parseSince(*sinceFlag, e.Now())
	if err != nil {
		return usagef("--since: %v", err)
	}
	return withStore(ctx, e, *storeSpec, func(st ur.Backend) error {
		evs, err := st.AuditEvents(ctx, since)
		if err != nil {
			return err
		}
		tw := newTable(e.Stdout, "TIME\tORG\tREPORT\tOUTCOME\tREMOTE")
		for _, ev := range evs {
			org := ""
			if ev.Org != 0 {
				org = ev.Org.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format(time.RFC3339), orDash(org), orDash(ev.Report), ev.Outcome, orDash(ev.Remote))
		}
		return tw.Flush()
	})
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

// newTable starts a table of tab-separated columns on w, aligned with two
// spaces between them, with its header line; Flush writes it.
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}
