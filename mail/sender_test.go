package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

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

func TestSendAttachmentsArriveByteIdentical(t *testing.T) {
	b := setup(t)
	sum := b.send(t, b.sender(t, nil, nil))
	if diff := cmp.Diff(Summary{Added: 3, Sent: 3}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	msgs := b.srv.messages()
	if len(msgs) != 3 {
		t.Fatalf("the server received %d messages, want 3", len(msgs))
	}
	states := ledgerStates(t, b.ledger)
	byRcpt := map[string]parsed{}
	for _, m := range msgs {
		if len(m.to) != 1 {
			t.Fatalf("a message went to %d recipients, want 1 each", len(m.to))
		}
		if m.from != "rapport@operator.example" {
			t.Errorf("MAIL FROM %q", m.from)
		}
		byRcpt[m.to[0]] = parse(t, m.data)
	}
	for rcpt, want := range map[string]struct {
		org   ur.Org
		name  string
		files []string
	}{
		"økonomi@fjord.example": {orgA, "Fjord Ørret AS", []string{"974760673-2026-10.xlsx", "974760673-2026-10.parquet"}},
		"leder@fjord.example":   {orgA, "Fjord Ørret AS", []string{"974760673-2026-10.xlsx", "974760673-2026-10.parquet"}},
		"post@berg.example":     {orgB, "Byggmester Berg", []string{"923609016-2026-10.xlsx"}},
	} {
		p, ok := byRcpt[rcpt]
		if !ok {
			t.Errorf("nothing arrived for %s", rcpt)
			continue
		}
		if wantSub := "Bruksrapport oktober 2026 – " + want.name + " / Usage report October 2026 – " + want.name; p.subject != wantSub {
			t.Errorf("subject %q, want %q", p.subject, wantSub)
		}
		for _, s := range []string{"Hei,", "bruksrapporten for " + want.name, "Hello,", "usage report of " + want.name, want.org.String()} {
			if !strings.Contains(p.body, s) {
				t.Errorf("%s: the body lacks %q:\n%s", rcpt, s, p.body)
			}
		}
		if len(p.attachments) != len(want.files) {
			t.Errorf("%s: %d attachments, want %d", rcpt, len(p.attachments), len(want.files))
		}
		for _, f := range want.files {
			if !bytes.Equal(p.attachments[f], b.files[f]) {
				t.Errorf("%s: attachment %s differs from the file (%d bytes, want %d)", rcpt, f, len(p.attachments[f]), len(b.files[f]))
			}
		}
		if got := p.types[want.files[0]]; got != typeXLSX {
			t.Errorf("workbook content type %q", got)
		}
		d := states[rcpt]
		if d.State != ur.DeliverySent || d.Attempts != 1 || "<"+d.MessageID+">" != p.messageID {
			t.Errorf("%s: ledger %+v, message id %s", rcpt, d, p.messageID)
		}
		if strings.Contains(d.MessageID, "@fjord") || strings.Contains(d.MessageID, "@berg") {
			t.Errorf("the Message-ID %q names the recipient", d.MessageID)
		}
	}

	// A second run sends nothing.
	sum = b.send(t, b.sender(t, nil, nil))
	if diff := cmp.Diff(Summary{}, sum); diff != "" {
		t.Errorf("second run summary (-want +got):\n%s", diff)
	}
	if n := len(b.srv.messages()); n != 3 {
		t.Errorf("after a second run the server has %d messages, want 3", n)
	}
}

func TestLargeAttachmentIsLinked(t *testing.T) {
	b := setup(t)
	b.orgs = b.orgs[1:]
	sum := b.send(t, b.sender(t, nil, func(c *Config) { c.MaxAttachment = 1000 }))
	if sum.Sent != 1 {
		t.Fatalf("summary %+v", sum)
	}
	msgs := b.srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	p := parse(t, msgs[0].data)
	if len(p.attachments) != 0 {
		t.Errorf("attachments %v, want none", len(p.attachments))
	}
	link := "https://rapport.operator.example/v1/reports/2026-10.xlsx"
	if strings.Count(p.body, link) != 2 {
		t.Errorf("the body does not link %s in both languages:\n%s", link, p.body)
	}
}

func TestLargeAttachmentWithoutDownloadServerFails(t *testing.T) {
	b := setup(t)
	b.orgs = b.orgs[1:]
	sum := b.send(t, b.sender(t, nil, func(c *Config) { c.MaxAttachment, c.DownloadURL = 1000, "" }))
	if diff := cmp.Diff(Summary{Added: 1, Failed: 1}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if n := len(b.srv.messages()); n != 0 {
		t.Errorf("%d messages, want 0", n)
	}
}

func TestTemporaryFailureThenSuccess(t *testing.T) {
	b := setup(t)
	b.orgs = b.orgs[1:]
	b.srv.data = func(n int, c *smtp.Conn, r io.Reader, keep func([]byte)) error {
		body, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if n == 1 {
			return smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "queue full, try later")
		}
		keep(body)
		return nil
	}
	sum := b.send(t, b.sender(t, nil, nil))
	if diff := cmp.Diff(Summary{Added: 1, Sent: 1}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if n := len(b.srv.messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if diff := cmp.Diff([]time.Duration{time.Second}, b.sleeps); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
	d := ledgerStates(t, b.ledger)["post@berg.example"]
	if d.State != ur.DeliverySent || d.Attempts != 2 || !strings.Contains(d.LastError, "451") {
		t.Errorf("ledger %+v", d)
	}
}

func TestTemporaryFailuresOutlastTheRetries(t *testing.T) {
	b := setup(t)
	b.orgs = b.orgs[1:]
	b.srv.rcpt = func(n int, c *smtp.Conn, to string) error {
		return smtpErr(452, smtp.EnhancedCode{4, 2, 2}, "mailbox full")
	}
	sum := b.send(t, b.sender(t, nil, nil))
	if diff := cmp.Diff(Summary{Added: 1, Pending: 1}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, b.sleeps); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
	d := ledgerStates(t, b.ledger)["post@berg.example"]
	if d.State != ur.DeliveryPending || d.Attempts != 3 || !strings.Contains(d.LastError, "452") || !d.RetryAt.Equal(testNow.Add(4*time.Second)) {
		t.Errorf("ledger %+v", d)
	}
	if n := len(b.srv.messages()); n != 0 {
		t.Errorf("%d messages, want 0", n)
	}
	// A run before the retry time sends nothing; the next run once it has
	// come and the server takes it sends it once.
	b.srv.rcpt = nil
	b.advance(4*time.Second - time.Millisecond)
	if sum = b.send(t, b.sender(t, nil, nil)); !cmp.Equal(sum, Summary{}) {
		t.Errorf("a run before the retry time: %+v", sum)
	}
	b.advance(time.Millisecond)
	sum = b.send(t, b.sender(t, nil, nil))
	if diff := cmp.Diff(Summary{Sent: 1}, sum); diff != "" {
		t.Errorf("second run summary (-want +got):\n%s", diff)
	}
	if n := len(b.srv.messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestPermanentFailure(t *testing.T) {
	b := setup(t)
	b.srv.rcpt = func(n int, c *smtp.Conn, to string) error {
		if to == "leder@fjord.example" {
			return smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "no such user")
		}
		return nil
	}
	sum := b.send(t, b.sender(t, nil, nil))
	if diff := cmp.Diff(Summary{Added: 3, Sent: 2, Failed: 1}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if len(b.sleeps) != 0 {
		t.Errorf("a permanent failure was retried: %v", b.sleeps)
	}
	d := ledgerStates(t, b.ledger)["leder@fjord.example"]
	if d.State != ur.DeliveryFailed || d.Attempts != 1 || !strings.Contains(d.LastError, "550") {
		t.Errorf("ledger %+v", d)
	}
	if n := len(b.srv.messages()); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
	b.send(t, b.sender(t, nil, nil))
	if n := len(b.srv.messages()); n != 2 {
		t.Errorf("a second run: %d messages, want 2", n)
	}
}

func TestConnectionDroppedBeforeDataIsRetried(t *testing.T) {
	b := setup(t)
	b.orgs = b.orgs[1:]
	b.srv.rcpt = func(n int, c *smtp.Conn, to string) error {
		if n == 1 {
			return cut(c)
		}
		return nil
	}
	sum := b.send(t, b.sender(t, nil, nil))
	if diff := cmp.Diff(Summary{Added: 1, Sent: 1}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if n := len(b.srv.messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if d := ledgerStates(t, b.ledger)["post@berg.example"]; d.Attempts != 2 {
		t.Errorf("ledger %+v, want 2 attempts", d)
	}
}

// TestConnectionCutInData cuts the connection after the server read part of
// an 8 MiB message: the client's write fails before the final ".", so the
// server has nothing it could deliver, and the delivery is retried as a
// plain temporary failure. (Had only the reply been lost, it would be a
// resend of the same message; the ledger tells which.) Either way the
// recipient gets one message and the run leaves nothing outstanding.
func TestConnectionCutInData(t *testing.T) {
	for _, noResend := range []bool{false, true} {
		t.Run(fmt.Sprintf("no resend %t", noResend), func(t *testing.T) { testConnectionCutInData(t, noResend) })
	}
}

func testConnectionCutInData(t *testing.T, noResend bool) {
	b := setup(t)
	b.orgs = b.orgs[1:]
	big := make([]byte, 8<<20)
	rand.NewChaCha8([32]byte{1}).Read(big)
	b.writeReport(t, orgB, "xlsx", big)
	b.srv.data = func(n int, c *smtp.Conn, r io.Reader, keep func([]byte)) error {
		if n == 1 {
			io.CopyN(io.Discard, r, 64<<10)
			return cut(c)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			return err // an incomplete message is never kept
		}
		keep(body)
		return nil
	}
	// A long timeout: 8 MiB on a loaded machine (or under -race) is slow.
	sum := b.send(t, b.sender(t, nil, func(c *Config) { c.MaxAttachment, c.NoResendUnknown, c.Timeout = 16<<20, noResend, time.Minute }))
	d := ledgerStates(t, b.ledger)["post@berg.example"]
	msgs := b.srv.messages()
	if d.State != ur.DeliverySent || len(msgs) != 1 || sum.Sent != 1 || d.Attempts != 2 {
		t.Fatalf("ledger %+v, %d messages, summary %+v", d, len(msgs), sum)
	}
	if d.Resends != 0 {
		t.Errorf("the incomplete message was counted as a resend: %+v", d)
	}
	if p := parse(t, msgs[0].data); !bytes.Equal(p.attachments["923609016-2026-10.xlsx"], big) {
		t.Error("the attachment differs from the file")
	}
	b.send(t, b.sender(t, nil, nil))
	if n2 := len(b.srv.messages()); n2 != 1 {
		t.Errorf("a second run changed the messages from 1 to %d", n2)
	}
}

// stores runs f on an embedded and a PostgreSQL ledger; open returns a
// fresh handle on the same ledger each time, as another process would.
func stores(t *testing.T, f func(t *testing.T, open func() ur.Deliveries)) {
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		f(t, func() ur.Deliveries { return openEmbedded(t, dir) })
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		f(t, func() ur.Deliveries { return openPostgres(t, url) })
	})
}

// TestTwoSendersAtOnce starts two senders, each with its own store handle,
// for the same month at the same moment: every recipient gets one message.
func TestTwoSendersAtOnce(t *testing.T) {
	stores(t, func(t *testing.T, open func() ur.Deliveries) {
		b := setup(t)
		var want []string
		for i := range 12 {
			r := "person" + string(rune('a'+i)) + "@berg.example"
			b.orgs[1].Recipients = append(b.orgs[1].Recipients, r)
		}
		for _, o := range b.orgs {
			want = append(want, recipients(o.Recipients)...)
		}
		senders := []*Sender{b.sender(t, open(), nil), b.sender(t, open(), nil)}
		start := make(chan struct{})
		sums := make([]Summary, 2)
		var wg sync.WaitGroup
		for i, s := range senders {
			wg.Go(func() {
				<-start
				sum, err := s.Send(context.Background(), oct, b.reports, b.orgs)
				if err != nil {
					t.Errorf("sender %d: %v", i, err)
				}
				sums[i] = sum
			})
		}
		close(start)
		wg.Wait()
		got := map[string]int{}
		for _, m := range b.srv.messages() {
			for _, r := range m.to {
				got[r]++
			}
		}
		for _, r := range want {
			if got[r] != 1 {
				t.Errorf("%s received %d messages, want 1", r, got[r])
			}
		}
		if len(got) != len(want) {
			t.Errorf("%d recipients received messages, want %d", len(got), len(want))
		}
		if sums[0].Sent+sums[1].Sent != len(want) || sums[0].Added+sums[1].Added != len(want) {
			t.Errorf("summaries %+v", sums)
		}
	})
}

// crashingLedger hands out claimants that die (release their liveness lock
// without a word) when asked to record a sent delivery: the process that
// dies after the server accepted, before the ledger knew.
type crashingLedger struct{ ur.Deliveries }

type crashingClaimant struct{ ur.Claimant }

var errCrash = errors.New("simulated crash")

func (l crashingLedger) NewClaimant(ctx context.Context) (ur.Claimant, error) {
	c, err := l.Deliveries.NewClaimant(ctx)
	return crashingClaimant{c}, err
}

func (c crashingClaimant) Finish(ctx context.Context, k ur.DeliveryKey, state ur.DeliveryState, lastErr string, code int) error {
	c.Claimant.Close()
	return errCrash
}

func TestServerUnavailableStopsTheRun(t *testing.T) {
	b := setup(t)
	s := b.sender(t, nil, func(c *Config) { c.Port = closedPort(t) })
	sum, err := s.Send(context.Background(), oct, b.reports, b.orgs)
	if !errors.Is(err, ErrServer) {
		t.Fatalf("Send: %v, want ErrServer", err)
	}
	if diff := cmp.Diff(Summary{Added: 3, Pending: 3}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	for r, d := range ledgerStates(t, b.ledger) {
		if d.State != ur.DeliveryPending {
			t.Errorf("%s is %s, want pending", r, d.State)
		}
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
