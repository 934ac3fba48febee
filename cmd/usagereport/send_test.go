package main

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// smtpServer is a real SMTP server (go-smtp) on 127.0.0.1:0 that keeps
// every message it accepts. fault, when set, decides what becomes of the
// nth message given (from 1): nil accepts it, errCut reads it whole and
// cuts the connection before the reply (the client cannot know whether it
// arrived; this server dropped it), another error is the reply.
type smtpServer struct {
	fault func(n int) error
	mu    sync.Mutex
	datas int
	got   []received
}

type received struct {
	to   []string
	data []byte
}

// errCut is a fault that cuts the connection.
var errCut = io.ErrUnexpectedEOF

func (s *smtpServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{srv: s, c: c}, nil
}

type smtpSession struct {
	srv *smtpServer
	c   *smtp.Conn
	to  []string
}

func (s *smtpSession) Reset()                               { s.to = nil }
func (s *smtpSession) Logout() error                        { return nil }
func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.datas++
	if s.srv.fault != nil {
		switch err := s.srv.fault(s.srv.datas); {
		case err == errCut:
			s.c.Conn().Close()
			return err
		case err != nil:
			return err
		}
	}
	s.srv.got = append(s.srv.got, received{append([]string(nil), s.to...), body})
	return nil
}

// messages returns the messages accepted so far.
func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// recipients returns the recipients of the messages accepted so far.
func (s *smtpServer) recipients() []string {
	var to []string
	for _, m := range s.messages() {
		to = append(to, m.to...)
	}
	return to
}

// startSMTP starts an smtpServer with fault (nil for none) and returns it
// with its port.
func startSMTP(t *testing.T, fault func(n int) error) (*smtpServer, string) {
	t.Helper()
	s := &smtpServer{fault: fault}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.MaxMessageBytes = 64 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return s, port
}

// TestSendMakesReportsThenSendsOnce runs the README's job and then "send"
// twice: the first run makes the missing reports and sends one message per
// recipient, the second sends nothing; "deliveries" shows the ledger.
func TestSendMakesReportsThenSendsOnce(t *testing.T) {
	samples, err := filepath.Glob("../../fixtures/sample/*")
	if err != nil || len(samples) < 3 {
		t.Fatalf("samples: %v %v", samples, err)
	}
	dir := t.TempDir()
	store, reports := filepath.Join(dir, "store"), filepath.Join(dir, "reports")
	mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
	mustRun(t, "org", "add", "--store", store, "--org", "882700240", "--name", "Nordlys Kraft AS",
		"--recipient", "okonomi@nordlys.example", "--recipient", "leder@nordlys.example")
	mustRun(t, "org", "add", "--store", store, "--org", "903174161", "--name", "Havbris",
		"--recipient", "post@havbris.example")
	sink, port := startSMTP(t, nil)
	send := []string{"send", "--store", store, "--reports", reports, "--month", "2026-10",
		"--smtp-host", "127.0.0.1", "--smtp-port", port, "--smtp-tls", "none",
		"--from", "Bruksrapport <rapport@operator.example>", "--parquet-org", "882700240"}
	r := mustRun(t, send...)
	if !strings.Contains(r.stdout, "making the missing reports of 2 organisations") ||
		!strings.Contains(r.stdout, "2026-10 this run: 3 sent, 0 resent after an unknown outcome, 0 failed, 0 unknown, 0 left pending (3 new deliveries)") ||
		!strings.Contains(r.stdout, "2026-10 whole month: 3 deliveries: 3 sent (0 after a resend), 0 pending, 0 overdue, 0 failed, 0 unknown, 0 sending") {
		t.Errorf("send printed:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "@nordlys") || strings.Contains(r.stdout+r.stderr, "@havbris") {
		t.Errorf("send printed a recipient's address:\n%s\n%s", r.stdout, r.stderr)
	}
	if got := len(sink.recipients()); got != 3 {
		t.Fatalf("the server received %d messages, want 3", got)
	}
	r = mustRun(t, send...)
	if !strings.Contains(r.stdout, "2026-10 this run: 0 sent, 0 resent after an unknown outcome, 0 failed, 0 unknown, 0 left pending (0 new deliveries)") ||
		!strings.Contains(r.stdout, "2026-10 whole month: 3 deliveries: 3 sent") ||
		strings.Contains(r.stdout, "making the missing reports") {
		t.Errorf("second send printed:\n%s", r.stdout)
	}
	if got := len(sink.recipients()); got != 3 {
		t.Errorf("after a second run the server received %d messages, want 3", got)
	}
	r = mustRun(t, "deliveries", "--store", store, "--month", "2026-10")
	for _, want := range []string{"okonomi@nordlys.example", "leder@nordlys.example", "post@havbris.example",
		"2026-10 whole month: 3 deliveries: 3 sent (0 after a resend), 0 pending, 0 overdue, 0 failed, 0 unknown, 0 sending"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("deliveries lacks %q:\n%s", want, r.stdout)
		}
	}
	r = run(t, nil, "deliveries", "--store", store, "--month", "2026-10", "--resolve", "pending",
		"--org", "903174161", "--recipient", "post@havbris.example")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "only unknown or failed ones are resolved") {
		t.Errorf("resolving a sent delivery: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestSendUsage(t *testing.T) {
	store := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no month", []string{"send", "--store", store, "--reports", store}, "--month"},
		{"no host", []string{"send", "--store", store, "--reports", store, "--month", "2026-10", "--from", "a@b.example"}, "the SMTP host is missing"},
		{"bad tls", []string{"send", "--store", store, "--reports", store, "--month", "2026-10", "--from", "a@b.example", "--smtp-host", "h", "--smtp-tls", "maybe"}, `TLS mode "maybe"`},
		{"password in clear", []string{"send", "--store", store, "--reports", store, "--month", "2026-10", "--from", "a@b.example", "--smtp-host", "h", "--smtp-tls", "none", "--smtp-user", "u"}, "in the clear"},
		{"schedule day", []string{"schedule", "--store", store, "--reports", store, "--day", "31"}, "day 31"},
		{"schedule time", []string{"schedule", "--store", store, "--reports", store, "--at", "25:00"}, "HH:MM"},
		{"resolve without recipient", []string{"deliveries", "--store", store, "--month", "2026-10", "--resolve", "sent", "--org", "882700240"}, "--recipient"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, map[string]string{envSMTPPassword: "secret"}, tt.args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", r.code, r.stderr, ExitUsage, tt.want)
			}
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("the password was printed:\n%s", r.stderr)
			}
		})
	}
}

// TestSendWithoutRecipientsSaysSo: organisations without recipients are
// named, and a send that has nobody to send to fails, rather than print
// "0 sent" and exit 0.
func TestSendWithoutRecipientsSaysSo(t *testing.T) {
	samples, err := filepath.Glob("../../fixtures/sample/*")
	if err != nil || len(samples) < 3 {
		t.Fatalf("samples: %v %v", samples, err)
	}
	dir := t.TempDir()
	store, reports := filepath.Join(dir, "store"), filepath.Join(dir, "reports")
	mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
	mustRun(t, "org", "add", "--store", store, "--org", "882700240", "--name", "Nordlys Kraft AS")
	mustRun(t, "org", "add", "--store", store, "--org", "903174161", "--name", "Havbris")
	sink, port := startSMTP(t, nil)
	send := []string{"send", "--store", store, "--reports", reports, "--month", "2026-10",
		"--smtp-host", "127.0.0.1", "--smtp-port", port, "--smtp-tls", "none", "--from", "rapport@operator.example"}
	r := run(t, nil, send...)
	if r.code != ExitFailure {
		t.Errorf("exit %d, want %d", r.code, ExitFailure)
	}
	for _, want := range []string{"2026-10: no recipients: 2 organisations: 882700240, 903174161"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "nothing to send for 2026-10: no organisation has both a recipient and a report") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if n := len(sink.recipients()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
	// With one recipient the other organisation is still named.
	mustRun(t, "org", "set", "--store", store, "--org", "903174161", "--recipient", "post@havbris.example")
	r = mustRun(t, send...)
	if !strings.Contains(r.stdout, "2026-10: no recipients: 1 organisations: 882700240") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}
