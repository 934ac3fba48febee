package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	ur "usagereport"
	"usagereport/internal/pgtest"
)

// The sender against SMTP failures: temporary, permanent, a connection
// lost before or during DATA, two senders at once, a crash, a server down.

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
