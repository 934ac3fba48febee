package server

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Config configures a Server. Zero fields take the defaults below.
type Config struct {
	Addr    string // host:port to listen on; "127.0.0.1:0" picks a port
	Reports string // the reports folder: Reports/<org>/<org>-<YYYY-MM>.<ext>

	// MetricsAddr is a second, separate address for /metrics; empty (the
	// default) serves no metrics at all. The public address never does:
	// the counters say how many downloads, failures and sessions there are.
	MetricsAddr string

	// AgreementGrace is how long after its agreement ended an organisation
	// is still served: the retention period after which purge deletes its
	// records. Zero means AgreementGraceMonths months.
	AgreementGrace int

	// TLSCert and TLSKey are PEM files; with both the server speaks only
	// TLS (1.2 or later) and the session cookie is Secure.
	TLSCert, TLSKey string

	// SessionTTL is how long a sign-in on the page lasts. MaxSessions bounds
	// the sessions kept in memory, MaxOrgSessions those of one organisation:
	// its oldest give way to its new ones, and when the whole table is full
	// a sign-in is refused (503) rather than end another organisation's.
	SessionTTL     time.Duration
	MaxSessions    int
	MaxOrgSessions int

	// SignInBurst successful sign-ins are allowed per client address and
	// per token, then one more per SignInEvery.
	SignInBurst int
	SignInEvery time.Duration

	// AuthBurst failed authentications are allowed per client address, then
	// one more per AuthEvery. MaxLimited bounds the addresses remembered.
	AuthBurst  int
	AuthEvery  time.Duration
	MaxLimited int

	// Time-outs and bounds of the HTTP server. WriteTimeout bounds a whole
	// response, so it must leave time for the largest report over a slow
	// line; ReadHeaderTimeout is what stops a slow-loris client.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int

	Now    func() time.Time // the clock of sessions, rate limits and the audit log
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultSessionTTL        = 8 * time.Hour
	DefaultMaxSessions       = 100000
	DefaultMaxOrgSessions    = 100
	DefaultSignInBurst       = 20
	DefaultSignInEvery       = 10 * time.Second
	AgreementGraceMonths     = 6
	DefaultAuthBurst         = 10
	DefaultAuthEvery         = 30 * time.Second
	DefaultMaxLimited        = 10000
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 16 << 10

	maxRequestURI  = 1024    // longer answers 414
	maxRequestBody = 4 << 10 // only the sign-in form has a body
)

// withDefaults fills in zero fields.
func (c Config) withDefaults() Config {
	c.SessionTTL = cmp.Or(c.SessionTTL, DefaultSessionTTL)
	c.AuthEvery = cmp.Or(c.AuthEvery, DefaultAuthEvery)
	c.SignInEvery = cmp.Or(c.SignInEvery, DefaultSignInEvery)
	c.ReadHeaderTimeout = cmp.Or(c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	c.ReadTimeout = cmp.Or(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxSessions = cmp.Or(c.MaxSessions, DefaultMaxSessions)
	c.MaxOrgSessions = cmp.Or(c.MaxOrgSessions, DefaultMaxOrgSessions)
	c.SignInBurst = cmp.Or(c.SignInBurst, DefaultSignInBurst)
	c.AgreementGrace = cmp.Or(c.AgreementGrace, AgreementGraceMonths)
	c.AuthBurst = cmp.Or(c.AuthBurst, DefaultAuthBurst)
	c.MaxLimited = cmp.Or(c.MaxLimited, DefaultMaxLimited)
	c.MaxHeaderBytes = cmp.Or(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate says what is wrong with the configuration, after defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("the listen address is empty"))
	}
	if c.Reports == "" {
		errs = append(errs, errors.New("the reports folder is not set"))
	} else if fi, err := os.Stat(c.Reports); err != nil || !fi.IsDir() {
		errs = append(errs, fmt.Errorf("the reports folder %s is not a folder", c.Reports))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("TLS needs both a certificate and a key"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"session lifetime", c.SessionTTL}, {"auth refill interval", c.AuthEvery},
		{"sign-in refill interval", c.SignInEvery},
		{"read header time-out", c.ReadHeaderTimeout}, {"read time-out", c.ReadTimeout},
		{"write time-out", c.WriteTimeout}, {"idle time-out", c.IdleTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("the %s is negative (%v)", d.name, d.v))
		}
	}
	if c.MetricsAddr != "" && c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
		errs = append(errs, errors.New("the metrics address must not be the public address"))
	}
	if c.MaxSessions < 0 || c.MaxOrgSessions < 0 || c.SignInBurst < 0 || c.AgreementGrace < 0 ||
		c.AuthBurst < 0 || c.MaxLimited < 0 || c.MaxHeaderBytes < 0 {
		errs = append(errs, errors.New("a size limit is negative"))
	}
	return errors.Join(errs...)
}
