package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	ur "usagereport"
	"usagereport/export"
	"usagereport/internal/clock"
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
	clock  clock.Clock
}

// Option changes a Sender.
type Option func(*Sender)

// WithClock gives the Sender a clock, so that tests never wait out a
// backoff. Its Now also dates messages and is compared with retry times.
func WithClock(c clock.Clock) Option { return func(s *Sender) { s.clock = c } }

// NewSender returns a Sender of cfg (its defaults filled in) on ledger.
func NewSender(cfg Config, ledger ur.Deliveries, logger *slog.Logger, opts ...Option) (*Sender, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mail configuration: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sender{cfg: cfg, ledger: ledger, logger: logger, clock: clock.Real{}}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Summary counts what one Send did; Status tells where the whole month
// stands.
type Summary struct {
	Added   int // deliveries new in the ledger
	Sent    int
	Failed  int // refused for good: see the ledger for why
	Unknown int // may or may not have arrived: resent by the next run, or left to an operator
	Pending int // released after temporary failures, for a later run
	// Resent counts the attempts that sent a message again after an
	// attempt whose outcome was unknown.
	Resent int
	// NoReport lists organisations with recipients but no report of the
	// month in the folder (withheld, or no records): nothing is sent.
	NoReport []ur.Org
	// NoRecipients lists organisations of the registry with no recipient:
	// nothing is sent to them.
	NoRecipients []ur.Org
}

// ErrServer reports that the SMTP server could not be reached or refused
// the session itself (TLS, authentication): the run stops, and what it
// had claimed is pending again.
var ErrServer = errors.New("SMTP server unavailable")

// Send delivers month m's reports in dir to the recipients of orgs: adds
// the deliveries the ledger lacks, then claims and sends pending ones (and
// unknown ones, to resend them, unless Config.NoResendUnknown) until each
// is sent or has used this run's attempts. Up to Config.Concurrency
// deliveries are in an SMTP transaction at once; one waiting out its
// backoff holds no connection, so the others go on meanwhile. Deliveries
// already sent or failed, or held by another sender, are left alone, so
// Send may run any number of times, in any number of processes.
func (s *Sender) Send(ctx context.Context, m ur.Month, dir string, orgs []ur.OrgInfo) (Summary, error) {
	var sum Summary
	byOrg := map[ur.Org]ur.OrgInfo{}
	var keys []ur.DeliveryKey
	for _, o := range orgs {
		o.Recipients = recipients(o.Recipients)
		if len(o.Recipients) == 0 {
			sum.NoRecipients = append(sum.NoRecipients, o.Org)
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
	r := &run{s: s, m: m, dir: dir, byOrg: byOrg, c: &lockedClaimant{c: c},
		reports: map[ur.Org]*report{}, events: make(chan event), sum: &sum}
	return sum, r.loop(ctx)
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

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// lockedClaimant lets the run's goroutines share one claimant, which is
// used by one goroutine at a time.
type lockedClaimant struct {
	mu sync.Mutex
	c  ur.Claimant
}

func (l *lockedClaimant) Claim(ctx context.Context, m ur.Month, o ur.ClaimOptions) (ur.Delivery, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.Claim(ctx, m, o)
}

func (l *lockedClaimant) Attempt(ctx context.Context, k ur.DeliveryKey, a ur.AttemptInfo) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.Attempt(ctx, k, a)
}

func (l *lockedClaimant) Finish(ctx context.Context, k ur.DeliveryKey, state ur.DeliveryState, lastErr string, code int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.Finish(ctx, k, state, lastErr, code)
}

func (l *lockedClaimant) Release(ctx context.Context, k ur.DeliveryKey, lastErr string, code int, retryAt time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.Release(ctx, k, lastErr, code, retryAt)
}
