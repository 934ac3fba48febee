package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	ur "usagereport"
	"usagereport/export"
)

// Log attribute keys. No key ever carries a recipient's address.
const (
	attrOrg       = "org"
	attrMonth     = "month"
	attrState     = "state"
	attrAttempt   = "attempt"
	attrMessageID = "message_id"
	attrCode      = "smtp_code"
	attrWait      = "wait"
)

// Sender delivers reports by email, recording each delivery in the ledger.
type Sender struct {
	cfg    Config
	ledger ur.Deliveries
	logger *slog.Logger
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
}

// Option changes a Sender.
type Option func(*Sender)

// WithClock gives the Sender a clock and a sleeper, so that tests never wait
// out a backoff.
func WithClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(s *Sender) { s.now, s.sleep = now, sleep }
}

// NewSender returns a Sender of cfg (its defaults filled in) on ledger.
func NewSender(cfg Config, ledger ur.Deliveries, logger *slog.Logger, opts ...Option) (*Sender, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mail configuration: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sender{cfg: cfg, ledger: ledger, logger: logger, now: time.Now, sleep: sleepCtx}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Summary counts what one Send did.
type Summary struct {
	Added   int // deliveries new in the ledger
	Sent    int
	Failed  int // refused for good: see the ledger for why
	Unknown int // may or may not have arrived: an operator resolves them
	Pending int // released after temporary failures, for a later run
	// NoReport lists organisations with recipients but no report of the
	// month in the folder (withheld, or no records): nothing is sent.
	NoReport []ur.Org
}

// ErrServer reports that the SMTP server could not be reached or refused
// the session itself (TLS, authentication): the run stops, and what it
// had claimed is pending again.
var ErrServer = errors.New("SMTP server unavailable")

// Send delivers month m's reports in dir to the recipients of orgs: adds
// the deliveries the ledger lacks, then claims and sends pending ones
// until none is left. Deliveries already sent, failed, unknown or held by
// another sender are left alone, so Send may run any number of times, in
// any number of processes.
func (s *Sender) Send(ctx context.Context, m ur.Month, dir string, orgs []ur.OrgInfo) (Summary, error) {
	var sum Summary
	byOrg := map[ur.Org]ur.OrgInfo{}
	var keys []ur.DeliveryKey
	for _, o := range orgs {
		o.Recipients = recipients(o.Recipients)
		if len(o.Recipients) == 0 {
			continue
		}
		if _, err := os.Stat(export.Path(dir, o.Org, m, "xlsx")); err != nil {
			sum.NoReport = append(sum.NoReport, o.Org)
			continue
		}
		byOrg[o.Org] = o
		for _, r := range o.Recipients {
			keys = append(keys, ur.DeliveryKey{Org: o.Org, Month: m, Recipient: r})
		}
	}
	var err error
	if sum.Added, err = s.ledger.AddDeliveries(ctx, keys); err != nil {
		return sum, err
	}
	c, err := s.ledger.NewClaimant(ctx)
	if err != nil {
		return sum, err
	}
	defer c.Close()
	reports := map[ur.Org]*report{}
	released := map[ur.DeliveryKey]bool{}
	for {
		d, err := c.Claim(ctx, m)
		if errors.Is(err, ur.ErrNoDelivery) {
			return sum, nil
		}
		if err != nil {
			return sum, err
		}
		if released[d.DeliveryKey] {
			// Released after temporary failures earlier in this run and due
			// again already (a long run, or a short MaxBackoff): stop here
			// rather than loop, and leave the rest to the next run.
			return sum, c.Release(context.WithoutCancel(ctx), d.DeliveryKey, "", s.now().Add(s.cfg.MaxBackoff))
		}
		state, err := s.deliverClaimed(ctx, c, d, dir, byOrg, reports)
		if state == ur.DeliveryPending {
			released[d.DeliveryKey] = true
		}
		switch state {
		case ur.DeliverySent:
			sum.Sent++
		case ur.DeliveryFailed:
			sum.Failed++
		case ur.DeliveryUnknown:
			sum.Unknown++
		case ur.DeliveryPending:
			sum.Pending++
		}
		if err != nil {
			return sum, err
		}
	}
}

// recipients trims the addresses and drops repeats (ignoring case: one
// mailbox, one message) and empty ones.
func recipients(rs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs {
		r = strings.TrimSpace(r)
		if r == "" || seen[strings.ToLower(r)] {
			continue
		}
		seen[strings.ToLower(r)] = true
		out = append(out, r)
	}
	return out
}

// deliverClaimed checks a claimed delivery against this run's organisations
// and sends it.
func (s *Sender) deliverClaimed(ctx context.Context, c ur.Claimant, d ur.Delivery, dir string, byOrg map[ur.Org]ur.OrgInfo, reports map[ur.Org]*report) (ur.DeliveryState, error) {
	rec := context.WithoutCancel(ctx) // outcomes are recorded even when the run is stopped
	o, ok := byOrg[d.Org]
	if !ok || !containsFold(o.Recipients, d.Recipient) {
		// Added by an earlier run, since removed from the registry or left
		// without a report: never send what the registry no longer asks for.
		why := "no longer a recipient of this organisation in the registry, or no report in the folder"
		return ur.DeliveryFailed, c.Finish(rec, d.DeliveryKey, ur.DeliveryFailed, why)
	}
	r, ok := reports[d.Org]
	if !ok {
		var err error
		if r, err = s.readReport(dir, o, d.Month); err != nil {
			s.logger.Error("report not sendable", slog.String(attrOrg, d.Org.String()), slog.String(attrMonth, d.Month.String()))
			return ur.DeliveryFailed, c.Finish(rec, d.DeliveryKey, ur.DeliveryFailed, err.Error())
		}
		reports[d.Org] = r
	}
	return s.deliver(ctx, c, d, r)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
