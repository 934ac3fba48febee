package mail

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// testServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1:0 in the
// test process. It keeps every message it accepted; hooks inject faults.
type testServer struct {
	port int

	mu       sync.Mutex
	sessions int
	received []received
	// rcpt, when set, runs at RCPT TO of session n (from 1); an error refuses.
	rcpt func(n int, c *smtp.Conn, to string) error
	// data, when set, runs at DATA instead of the default (read all, keep).
	data func(n int, c *smtp.Conn, r io.Reader, keep func([]byte)) error
}

type received struct {
	from string
	to   []string
	data []byte
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{}
	srv := smtp.NewServer(ts)
	srv.Domain = "localhost"
	srv.MaxMessageBytes = 64 << 20
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = discardLogger{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	})
	return ts
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// messages returns what the server accepted so far.
func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.received...)
}

// NewSession implements smtp.Backend.
func (ts *testServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.sessions++
	return &session{ts: ts, n: ts.sessions, c: c}, nil
}

type session struct {
	ts   *testServer
	n    int
	c    *smtp.Conn
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ts.rcpt != nil {
		if err := s.ts.rcpt(s.n, s.c, to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	keep := func(b []byte) {
		s.ts.mu.Lock()
		defer s.ts.mu.Unlock()
		s.ts.received = append(s.ts.received, received{s.from, s.to, b})
	}
	if s.ts.data != nil {
		return s.ts.data(s.n, s.c, r, keep)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	keep(b)
	return nil
}

// cut closes the connection under the server's feet.
func cut(c *smtp.Conn) error {
	c.Conn().Close()
	return errors.New("connection cut by the test")
}

// smtpErr is a reply with code and text.
func smtpErr(code int, enhanced smtp.EnhancedCode, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}
}
