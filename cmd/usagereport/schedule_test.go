package main

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// envTestNow, with envRunMain, runs the test binary as the program with its
// clock standing at this RFC 3339 time (sleeps stay real), so that a real
// scheduler process catches up on a known slot.
const envTestNow = "USAGEREPORT_TEST_NOW"

func init() {
	now := os.Getenv(envTestNow)
	if os.Getenv(envRunMain) != "1" || now == "" {
		return
	}
	t, err := time.Parse(time.RFC3339, now)
	if err != nil {
		panic(err)
	}
	e := NewEnv()
	e.Now = func() time.Time { return t }
	os.Exit(Main(context.Background(), os.Args[1:], e))
}

// gatedServer is a real SMTP server that accepts the first message and
// holds every later RCPT until the gate opens: a send caught in the middle,
// with nothing of the held messages written.
type gatedServer struct {
	gate chan struct{}

	mu    sync.Mutex
	rcpts int // RCPTs seen
	held  int // RCPTs waiting at the gate
	got   map[string]int
}

func (s *gatedServer) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &gatedSession{srv: s}, nil
}

type gatedSession struct {
	srv *gatedServer
	to  []string
}

func (s *gatedSession) Reset()                               { s.to = nil }
func (s *gatedSession) Logout() error                        { return nil }
func (s *gatedSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *gatedSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	s.srv.rcpts++
	first := s.srv.rcpts == 1
	if !first {
		s.srv.held++
	}
	s.srv.mu.Unlock()
	if !first {
		select {
		case <-s.srv.gate:
		case <-time.After(time.Minute):
		}
		s.srv.mu.Lock()
		s.srv.held--
		s.srv.mu.Unlock()
	}
	s.to = append(s.to, to)
	return nil
}

func (s *gatedSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	for _, to := range s.to {
		s.srv.got[to]++
	}
	return nil
}

func (s *gatedServer) counts() (got map[string]int, held int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got = map[string]int{}
	for k, v := range s.got {
		got[k] = v
	}
	return got, s.held
}

// scheduler is a running "usagereport schedule" process.
type scheduler struct {
	cmd   *exec.Cmd
	lines chan string
}

// startScheduler starts the program as a process with its clock at now.
func startScheduler(t *testing.T, now time.Time, args ...string) *scheduler {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"schedule"}, args...)...)
	cmd.Env = append(os.Environ(), envRunMain+"=1", envKey+"="+testKey, envTestNow+"="+now.Format(time.RFC3339))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &scheduler{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(func() { s.kill() })
	return s
}

// waitFor returns the first line of output containing want.
func (s *scheduler) waitFor(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("the scheduler ended before printing %q", want)
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-deadline:
			t.Fatalf("the scheduler did not print %q in a minute", want)
		}
	}
}

func (s *scheduler) kill() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
	}
}

// TestScheduleKilledMidSendSendsEachOnce runs "usagereport schedule" as a
// real process, on both stores. Its clock stands on the 6th of November,
// after a downtime over the slot on the 5th at 08:00 Oslo time, so it
// catches up on October's reports at start. It is killed with SIGKILL while
// the SMTP server holds all but the first message; a restart sends the
// rest; a third start sends nothing. Every recipient gets one message.
func TestScheduleKilledMidSendSendsEachOnce(t *testing.T) {
	samples, err := filepath.Glob("../../fixtures/sample/*")
	if err != nil || len(samples) < 3 {
		t.Fatalf("samples: %v %v", samples, err)
	}
	recipients := []string{"okonomi@nordlys.example", "leder@nordlys.example", "styret@nordlys.example",
		"post@havbris.example", "regnskap@havbris.example"}
	for name, store := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			reports := filepath.Join(t.TempDir(), "reports")
			mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
			mustRun(t, "org", "add", "--store", store, "--org", "882700240", "--name", "Nordlys Kraft AS",
				"--recipient", recipients[0], "--recipient", recipients[1], "--recipient", recipients[2])
			mustRun(t, "org", "add", "--store", store, "--org", "903174161", "--name", "Havbris",
				"--recipient", recipients[3], "--recipient", recipients[4])
			mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", reports)

			srv := &gatedServer{gate: make(chan struct{}), got: map[string]int{}}
			smtpSrv := smtp.NewServer(srv)
			smtpSrv.Domain = "localhost"
			smtpSrv.ErrorLog = log.New(io.Discard, "", 0) // the killed sessions' resets
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go smtpSrv.Serve(l)
			t.Cleanup(func() { smtpSrv.Close() })
			_, port, _ := net.SplitHostPort(l.Addr().String())
			args := []string{"--store", store, "--reports", reports, "--day", "5", "--at", "08:00",
				"--smtp-host", "127.0.0.1", "--smtp-port", port, "--smtp-tls", "none",
				"--from", "rapport@operator.example", "--backoff", "10ms"}
			now := time.Date(2026, 11, 6, 12, 0, 0, 0, time.UTC) // down since before the 5th

			first := startScheduler(t, now, args...)
			first.waitFor(t, "scheduled: day 5 at 08:00 Europe/Oslo")
			// The middle: one message accepted and recorded as sent, others
			// held at the server before their data. (Killed between the
			// server's 250 and the ledger's record, the sender would resend
			// the identical message, same Message-ID, after the restart.)
			deadline := time.Now().Add(60 * time.Second)
			for {
				got, held := srv.counts()
				if len(got) == 1 && held >= 1 && strings.Contains(mustRun(t, "deliveries", "--store", store, "--month", "2026-10").stdout, " 1 sent") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the send never reached the middle: %v, %d held", got, held)
				}
				time.Sleep(5 * time.Millisecond)
			}
			first.kill()
			if first.cmd.ProcessState.Success() {
				t.Fatal("the scheduler exited by itself; the test proves nothing")
			}
			close(srv.gate)

			// Those held at the server had their attempt recorded: each is
			// resent by the new process, and only if it builds the same bytes.
			second := startScheduler(t, now, args...)
			if l := second.waitFor(t, "2026-10 whole month:"); !strings.Contains(l, "5 deliveries: 5 sent") || strings.Contains(l, "(0 after a resend)") {
				t.Errorf("after the restart: %s", l)
			}
			second.kill()
			third := startScheduler(t, now.Add(time.Hour), args...)
			if l := third.waitFor(t, "2026-10 this run:"); !strings.Contains(l, "0 sent") {
				t.Errorf("the third start: %s", l)
			}
			third.kill()

			got, _ := srv.counts()
			for _, r := range recipients {
				if got[r] != 1 {
					t.Errorf("%s received %d messages, want 1", r, got[r])
				}
			}
			if len(got) != len(recipients) {
				t.Errorf("%d recipients received messages, want %d: %v", len(got), len(recipients), got)
			}
		})
	}
}
