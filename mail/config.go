package mail

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	ur "usagereport"
)

// TLSMode is how the connection to the SMTP server is encrypted.
type TLSMode string

const (
	// STARTTLS upgrades a plain connection (usually port 587) and refuses
	// a server that does not offer it.
	STARTTLS TLSMode = "starttls"
	// ImplicitTLS speaks TLS from the first byte (usually port 465).
	ImplicitTLS TLSMode = "implicit"
	// NoTLS sends in the clear: for tests against a local server only.
	NoTLS TLSMode = "none"
)

// Defaults of Config.
const (
	DefaultMaxAttachment = 10 << 20 // bytes; many servers refuse messages over 20-25 MB
	DefaultAttempts      = 5
	DefaultBackoff       = 30 * time.Second
	DefaultMaxBackoff    = 10 * time.Minute
	DefaultTimeout       = time.Minute
	DefaultConcurrency   = 4
)

// Config is the SMTP and message configuration of a Sender.
type Config struct {
	Host string
	Port int // 0: 587 for STARTTLS, 465 for implicit TLS, 25 for none
	TLS  TLSMode
	// TLSConfig overrides the TLS settings (tests give their own roots).
	TLSConfig *tls.Config
	// Username and Password authenticate when Username is set. The
	// password comes from the environment or a file, never a flag.
	Username, Password string
	// From is the sender, e.g. "Usage reports <rapport@example.no>".
	From string
	// MaxAttachment is the largest file attached, in bytes; a larger one
	// is replaced by a link to DownloadURL.
	MaxAttachment int64
	// DownloadURL is the base URL of the report server, e.g.
	// "https://reports.example.no". Needed only for links.
	DownloadURL string
	// ParquetAll attaches the Parquet report for every organisation;
	// ParquetOrgs for these only. The Excel workbook is always attached.
	ParquetAll  bool
	ParquetOrgs []ur.Org
	// Attempts is the number of SMTP transactions per delivery and run
	// before a temporary failure leaves it pending for the next run.
	Attempts int
	// Backoff is the wait after the first temporary failure, doubled after
	// each next one up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds each network step of one SMTP transaction.
	Timeout time.Duration
	// Concurrency bounds the SMTP connections open at once.
	Concurrency int
	// NoResendUnknown keeps a delivery whose outcome is unknown (the
	// connection lost after the whole message was written, or the sender
	// dead) for an operator, at most once, instead of resending the
	// identical message.
	NoResendUnknown bool
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	c.TLS = cmp.Or(c.TLS, STARTTLS)
	c.Port = cmp.Or(c.Port, map[TLSMode]int{STARTTLS: 587, ImplicitTLS: 465, NoTLS: 25}[c.TLS])
	c.MaxAttachment = cmp.Or(c.MaxAttachment, DefaultMaxAttachment)
	c.Attempts = cmp.Or(c.Attempts, DefaultAttempts)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, DefaultMaxBackoff)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	return c
}

// Validate says what is wrong with c, all of it at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Host == "" {
		bad("the SMTP host is missing")
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("the SMTP port %d is not between 1 and 65535", c.Port)
	}
	switch c.TLS {
	case STARTTLS, ImplicitTLS:
	case NoTLS:
		if c.Username != "" {
			bad("authentication over an unencrypted connection would send the password in the clear: use starttls or implicit TLS")
		}
	default:
		bad("TLS mode %q: want starttls, implicit or none", c.TLS)
	}
	if c.Username == "" && c.Password != "" {
		bad("a password is given without a user name")
	}
	if c.Username != "" && c.Password == "" {
		bad("the SMTP user has no password")
	}
	if c.From == "" {
		bad("the sender address is missing")
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		bad("the sender %q is not an email address: %v", c.From, err)
	}
	if c.MaxAttachment < 1 {
		bad("the attachment size limit must be positive, got %d", c.MaxAttachment)
	}
	if c.DownloadURL != "" {
		u, err := url.Parse(c.DownloadURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad("the download server URL %q is not an absolute http(s) URL without query", c.DownloadURL)
		}
	}
	if c.Attempts < 1 {
		bad("attempts must be at least 1, got %d", c.Attempts)
	}
	if c.Backoff < 0 || c.MaxBackoff < c.Backoff {
		bad("backoff %v and maximum backoff %v: want 0 <= backoff <= maximum", c.Backoff, c.MaxBackoff)
	}
	if c.Timeout <= 0 {
		bad("the timeout must be positive, got %v", c.Timeout)
	}
	if c.Concurrency < 1 {
		bad("concurrency must be at least 1, got %d", c.Concurrency)
	}
	return errors.Join(errs...)
}

// String describes c for the log at start, the password redacted.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = " password=REDACTED"
	}
	user := ""
	if c.Username != "" {
		user = " user=" + c.Username
	}
	orgs := make([]string, len(c.ParquetOrgs))
	for i, o := range c.ParquetOrgs {
		orgs[i] = o.String()
	}
	return fmt.Sprintf("smtp=%s:%d tls=%s%s%s from=%q max_attachment=%d download_url=%q parquet_all=%t parquet_orgs=[%s] attempts=%d backoff=%v..%v timeout=%v concurrency=%d resend_unknown=%t",
		c.Host, c.Port, c.TLS, user, pw, c.From, c.MaxAttachment, c.DownloadURL, c.ParquetAll,
		strings.Join(orgs, ","), c.Attempts, c.Backoff, c.MaxBackoff, c.Timeout, c.Concurrency, !c.NoResendUnknown)
}

func (c Config) attachParquet(org ur.Org) bool {
	return c.ParquetAll || slices.Contains(c.ParquetOrgs, org)
}
