package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	ur "usagereport"
	"usagereport/export"
	"usagereport/internal/clock"
	"usagereport/mail"
)

// Environment variables of the commands that send mail.
const (
	// envSMTPPassword holds the SMTP password (or give --smtp-password-file).
	envSMTPPassword = "USAGEREPORT_SMTP_PASSWORD"
)

// mailFlags declares the SMTP and message flags on fs; the returned function
// builds and validates the configuration after parsing.
func mailFlags(e *Env, fs *flag.FlagSet) func() (mail.Config, error) {
	host := fs.String("smtp-host", "", "SMTP server host name")
	port := fs.Int("smtp-port", 0, "SMTP port (default 587 for starttls, 465 for implicit, 25 for none)")
	tlsMode := fs.String("smtp-tls", "starttls", "TLS mode: starttls, implicit, or none (tests only)")
	user := fs.String("smtp-user", "", "SMTP user name; the password comes from $"+envSMTPPassword+" or --smtp-password-file")
	pwFile := fs.String("smtp-password-file", "", "file holding the SMTP password")
	from := fs.String("from", "", `sender address, e.g. "Bruksrapport <rapport@example.no>"`)
	maxAttach := fs.Int64("max-attachment", mail.DefaultMaxAttachment, "largest attachment in bytes; a larger report is linked instead")
	downloadURL := fs.String("download-url", "", "base URL of the report server, for links to reports too large to attach")
	parquetAll := fs.Bool("attach-parquet", false, "attach the Parquet report too, for every organisation")
	var parquetOrgs orgList
	fs.Var(&parquetOrgs, "parquet-org", "attach the Parquet report too for this organisation (repeatable)")
	attempts := fs.Int("attempts", mail.DefaultAttempts, "SMTP attempts per delivery and run on temporary failures")
	backoff := fs.Duration("backoff", mail.DefaultBackoff, "wait after the first temporary failure, doubled each time")
	concurrency := fs.Int("concurrency", mail.DefaultConcurrency, "SMTP connections open at once")
	noResend := fs.Bool("no-resend-unknown", false, "never resend a message whose delivery is unknown (connection lost after the whole message was written): leave it to an operator")
	return func() (mail.Config, error) {
		cfg := mail.Config{
			Host: *host, Port: *port, TLS: mail.TLSMode(*tlsMode), Username: *user, From: *from,
			MaxAttachment: *maxAttach, DownloadURL: *downloadURL,
			ParquetAll: *parquetAll, ParquetOrgs: parquetOrgs,
			Attempts: *attempts, Backoff: *backoff,
			Concurrency: *concurrency, NoResendUnknown: *noResend,
		}
		switch {
		case *pwFile != "":
			b, err := os.ReadFile(*pwFile)
			if err != nil {
				return cfg, fmt.Errorf("read SMTP password file: %w", err)
			}
			cfg.Password = strings.TrimRight(string(b), "\r\n")
		case e.Getenv(envSMTPPassword) != "":
			cfg.Password = e.Getenv(envSMTPPassword)
		}
		if cfg.MaxBackoff == 0 {
			cfg.MaxBackoff = max(mail.DefaultMaxBackoff, cfg.Backoff)
		}
		cfg = cfg.WithDefaults()
		if err := cfg.Validate(); err != nil {
			return cfg, usagef("%v", err)
		}
		return cfg, nil
	}
}

func runSend(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "send", "--store DIR|URL --reports DIR --month YYYY-MM --smtp-host H --from ADDR [flags]")
	storeSpec := storeFlag(fs)
	reports := fs.String("reports", "", "folder of the reports (made there first when missing)")
	monthFlag := fs.String("month", "", "the month whose reports to send, YYYY-MM")
	mailCfg := mailFlags(e, fs)
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	month, err := ur.ParseMonth(*monthFlag)
	if err != nil {
		return usagef("--month: %v", err)
	}
	if *reports == "" {
		return usagef("--reports is required")
	}
	cfg, err := mailCfg()
	if err != nil {
		return err
	}
	e.Logger.Info("mail configuration", slog.String("config", cfg.String()))
	return sendMonth(ctx, e, *storeSpec, *reports, month, cfg)
}

// sendMonth makes the month's missing reports, then sends them.
func sendMonth(ctx context.Context, e *Env, spec, dir string, m ur.Month, cfg mail.Config) error {
	st, err := openStore(ctx, e, spec)
	if err != nil {
		return err
	}
	defer st.Close()
	orgs, err := st.Orgs(ctx)
	if err != nil {
		return err
	}
	var missing []string
	for _, o := range orgs {
		if len(o.Recipients) == 0 {
			continue
		}
		exts := []string{"xlsx"}
		if cfg.ParquetAll || containsOrg(cfg.ParquetOrgs, o.Org) {
			exts = append(exts, "parquet")
		}
		for _, ext := range exts {
			if _, err := os.Stat(export.Path(dir, o.Org, m, ext)); err != nil {
				missing = append(missing, "--org", o.Org.String())
				break
			}
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(e.Stdout, "%s: making the missing reports of %d organisations\n", m, len(missing)/2)
		if err := runReport(ctx, e, append([]string{"--store", spec, "--month", m.String(), "--out", dir}, missing...)); err != nil {
			return fmt.Errorf("make reports: %w", err)
		}
	}
	s, err := mail.NewSender(cfg, st, e.Logger, mail.WithClock(envClock{e}))
	if err != nil {
		return err
	}
	sum, sendErr := s.Send(ctx, m, dir, orgs)
	printRun(e.Stdout, m, sum)
	status, err := mail.MonthStatus(context.WithoutCancel(ctx), st, m, e.Now()) // shown when stopped too
	if err != nil {
		return errors.Join(sendErr, err)
	}
	printStatus(e.Stdout, status, false)
	if sendErr != nil {
		return sendErr
	}
	if len(status.Deliveries) == 0 {
		return fmt.Errorf("nothing to send for %s: no organisation has both a recipient and a report", m)
	}
	if n := status.Outstanding(); n > 0 {
		return fmt.Errorf("%d of the %d deliveries of %s are not sent: see above, and 'usagereport deliveries --month %s'", n, len(status.Deliveries), m, m)
	}
	return nil
}

// envClock is e's clock, with real sleeps.
type envClock struct{ e *Env }

func (c envClock) Now() time.Time { return c.e.Now() }

func (envClock) Sleep(ctx context.Context, d time.Duration) error { return clock.Real{}.Sleep(ctx, d) }

// printRun prints what one send run did, and the organisations it sent
// nothing to, each by number; never a recipient.
func printRun(w io.Writer, m ur.Month, sum mail.Summary) {
	if n := len(sum.NoRecipients); n > 0 {
		fmt.Fprintf(w, "%s: no recipients: %d organisations: %s\n", m, n, orgNumbers(sum.NoRecipients))
	}
	if n := len(sum.NoReport); n > 0 {
		fmt.Fprintf(w, "%s: no report this month, nothing sent: %d organisations: %s\n", m, n, orgNumbers(sum.NoReport))
	}
	fmt.Fprintf(w, "%s this run: %d sent, %d resent after an unknown outcome, %d failed, %d unknown, %d left pending (%d new deliveries)\n",
		m, sum.Sent, sum.Resent, sum.Failed, sum.Unknown, sum.Pending, sum.Added)
}

func orgNumbers(orgs []ur.Org) string {
	s := make([]string, len(orgs))
	for i, o := range orgs {
		s[i] = o.String()
	}
	return strings.Join(s, ", ")
}

func containsOrg(list []ur.Org, o ur.Org) bool {
	for _, x := range list {
		if x == o {
			return true
		}
	}
	return false
}

// reportMonthOf returns the month whose reports a run at t sends: the
// calendar month (Europe/Oslo) before t's.
func reportMonthOf(t time.Time, loc *time.Location) ur.Month {
	l := t.In(loc)
	return ur.MonthOf(l.Year(), l.Month()) - 1
}
