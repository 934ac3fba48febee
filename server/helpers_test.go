package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ur "usagereport"
	"usagereport/embedded"
	"usagereport/export"
	"usagereport/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// Organisations with valid check digits.
const (
	orgA ur.Org = 974760673
	orgB ur.Org = 923609016
)

var (
	oct = ur.MonthOf(2026, 10)
	nov = ur.MonthOf(2026, 11)
)

// clock is a settable clock: tests never sleep for time to pass.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// bundle is what setup makes: a running server over an embedded store with
// two organisations, each with a token and reports.
type bundle struct {
	srv     *Server
	store   *embedded.Store
	clock   *clock
	url     string // http://127.0.0.1:port
	reports string // the reports folder
	secret  string // a file beside the reports folder that must never be served
	tokA    string
	tokB    string
	idA     int64
	files   map[string][]byte // report path relative to reports -> content
}

// setup starts a server; edit changes its Config before New.
func setup(t *testing.T, edit func(*Config)) *bundle {
	t.Helper()
	ctx := context.Background()
	base := t.TempDir()
	b := &bundle{clock: newClock(), reports: filepath.Join(base, "reports"), files: map[string][]byte{}}
	st, err := embedded.Open(ctx, filepath.Join(base, "store"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.store = st
	for _, o := range []ur.OrgInfo{{Org: orgA, Name: "A"}, {Org: orgB, Name: "B"}} {
		if err := st.PutOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	b.tokA, b.tokB = ur.NewToken(), ur.NewToken()
	if b.idA, err = st.CreateToken(ctx, orgA, "a", ur.TokenHash(b.tokA)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateToken(ctx, orgB, "b", ur.TokenHash(b.tokB)); err != nil {
		t.Fatal(err)
	}
	// A has October; B has October and November. A asking for November
	// must look exactly like anyone asking for a month nobody has.
	b.writeReport(t, orgA, oct, "xlsx", 3000)
	b.writeReport(t, orgA, oct, "parquet", 5000)
	b.writeReport(t, orgB, oct, "xlsx", 3100)
	b.writeReport(t, orgB, nov, "parquet", 5100)
	b.secret = filepath.Join(base, "secret")
	if err := os.WriteFile(b.secret, []byte("SECRET-OUTSIDE-THE-REPORTS-FOLDER"), 0o644); err != nil {
		t.Fatal(err)
	}

	cfg := Config{Addr: "127.0.0.1:0", Reports: b.reports, Now: b.clock.Now, AuthBurst: 1000}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := New(cfg, st, st, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	b.srv = srv
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	b.url = scheme + "://" + srv.Addr()
	return b
}

// writeReport writes a report file of n random bytes.
func (b *bundle) writeReport(t *testing.T, org ur.Org, m ur.Month, ext string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(org), byte(m), byte(n)})
	r.Read(data)
	path := export.Path(b.reports, org, m, ext)
	if err := export.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(b.reports, path)
	b.files[rel] = data
	return data
}

func (b *bundle) file(org ur.Org, m ur.Month, ext string) []byte {
	return b.files[export.Path("", org, m, ext)]
}

// client returns an HTTP client that does not follow redirects, with a
// cookie jar, whose idle connections close when the test ends.
func (b *bundle) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; header holds "Name: value" lines.
func do(t *testing.T, c *http.Client, method, url string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, data}
}

func bearer(tok string) string { return "Authorization: Bearer " + tok }

// signIn signs c in through the page's form.
func (b *bundle) signIn(t *testing.T, c *http.Client, tok string) {
	t.Helper()
	r := do(t, c, "POST", b.url+"/signin", strings.NewReader("token="+tok),
		"Content-Type: application/x-www-form-urlencoded", "Origin: "+b.url, "Sec-Fetch-Site: same-origin")
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign in: status %d, want 303; body %s", r.status, r.body)
	}
}

// sameResponse reports how two answers differ in status, body or headers
// (Date aside).
func sameResponse(a, b response) string {
	if a.status != b.status || !bytes.Equal(a.body, b.body) {
		return fmt.Sprintf("status %d body %q vs status %d body %q", a.status, a.body, b.status, b.body)
	}
	keys := func(h http.Header) []string {
		var out []string
		for k, v := range h {
			if k != "Date" {
				out = append(out, k+": "+strings.Join(v, ","))
			}
		}
		slices.Sort(out)
		return out
	}
	if ka, kb := keys(a.header), keys(b.header); !slices.Equal(ka, kb) {
		return fmt.Sprintf("headers %q vs %q", ka, kb)
	}
	return ""
}
