package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ur "usagereport"
	"usagereport/embedded"
	"usagereport/export"
	"usagereport/internal/leakcheck"
	"usagereport/internal/pgtest"
	"usagereport/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m, leakcheck.Check) }

// Organisation numbers with valid check digits.
const (
	orgA ur.Org = 974760673
	orgB ur.Org = 923609016
)

var (
	oct     = ur.MonthOf(2026, 10)
	testNow = time.Date(2026, 11, 3, 7, 0, 0, 0, time.UTC)
)

// bundle is what a send test works with.
type bundle struct {
	srv     *testServer
	ledger  ur.Deliveries
	reports string
	orgs    []ur.OrgInfo
	files   map[string][]byte // by file name

	mu     sync.Mutex
	now    time.Time // the clock, testNow at setup
	sleeps []time.Duration
}

// setup starts an SMTP server, opens an embedded store and writes reports
// of random bytes (every byte value, so any re-encoding shows) for orgA
// (two recipients, Parquet wanted) and orgB (one recipient).
func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{srv: newTestServer(t), reports: t.TempDir(), files: map[string][]byte{}, now: testNow}
	b.ledger = openEmbedded(t, t.TempDir())
	b.orgs = []ur.OrgInfo{
		{Org: orgA, Name: "Fjord Ørret AS", Recipients: []string{"økonomi@fjord.example", "leder@fjord.example", " Leder@fjord.example"}},
		{Org: orgB, Name: "Byggmester Berg", Recipients: []string{"post@berg.example"}},
	}
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	for _, o := range b.orgs {
		for _, ext := range []string{"xlsx", "parquet"} {
			data := make([]byte, 3000+rng.IntN(5000))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			b.writeReport(t, o.Org, ext, data)
		}
	}
	return b
}

func (b *bundle) writeReport(t *testing.T, org ur.Org, ext string, data []byte) {
	t.Helper()
	path := export.Path(b.reports, org, oct, ext)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	b.files[filepath.Base(path)] = data
}

func openEmbedded(t *testing.T, dir string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (b *bundle) config() Config {
	return Config{
		Host: "127.0.0.1", Port: b.srv.port, TLS: NoTLS,
		From:        "Bruksrapport <rapport@operator.example>",
		ParquetOrgs: []ur.Org{orgA},
		DownloadURL: "https://rapport.operator.example/",
		Attempts:    3, Backoff: time.Second, MaxBackoff: 4 * time.Second, Timeout: 5 * time.Second,
	}
}

// sender returns a Sender on ledger (b.ledger when nil) whose sleeps are
// recorded, never slept.
func (b *bundle) sender(t *testing.T, ledger ur.Deliveries, change func(*Config)) *Sender {
	t.Helper()
	cfg := b.config()
	if change != nil {
		change(&cfg)
	}
	if ledger == nil {
		ledger = b.ledger
	}
	s, err := NewSender(cfg, ledger, nil, WithClock(recordingClock{b}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// recordingClock reads b.now and records its sleeps, never sleeping.
type recordingClock struct{ b *bundle }

func (c recordingClock) Now() time.Time {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return c.b.now
}

// advance moves the clock on.
func (b *bundle) advance(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = b.now.Add(d)
}

func (c recordingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.b.mu.Lock()
	c.b.sleeps = append(c.b.sleeps, d)
	c.b.mu.Unlock()
	return ctx.Err()
}

func (b *bundle) send(t *testing.T, s *Sender) Summary {
	t.Helper()
	sum, err := s.Send(context.Background(), oct, b.reports, b.orgs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return sum
}

// ledgerStates maps recipient to state.
func ledgerStates(t *testing.T, d ur.Deliveries) map[string]ur.Delivery {
	t.Helper()
	ds, err := d.ListDeliveries(context.Background(), oct)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ur.Delivery{}
	for _, x := range ds {
		out[x.Recipient] = x
	}
	return out
}

// parsed is a received message, decoded.
type parsed struct {
	to, subject, messageID, body string
	attachments                  map[string][]byte
	types                        map[string]string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the message does not parse: %v", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject: %v", err)
	}
	p := parsed{to: msg.Header.Get("To"), subject: subject, messageID: msg.Header.Get("Message-Id"),
		attachments: map[string][]byte{}, types: map[string]string{}}
	walkPart(t, &p, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, "")
	return p
}

func walkPart(t *testing.T, p *parsed, ctype, cte string, body io.Reader, filename string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("MIME part: %v", err)
			}
			walkPart(t, p, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, part.FileName())
		}
	}
	switch strings.ToLower(cte) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable": // multipart.Reader decodes it in parts, not at the top
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read part %s: %v", mt, err)
	}
	if filename != "" {
		p.attachments[filename] = b
		p.types[filename] = mt
		return
	}
	if mt == "text/plain" {
		if params["charset"] != "UTF-8" && params["charset"] != "utf-8" {
			t.Errorf("body charset %q, want UTF-8", params["charset"])
		}
		p.body += string(b)
	}
}
