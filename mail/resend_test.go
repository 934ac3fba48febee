package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

// replyLost has the server keep the whole message of session n and cut
// the connection before its reply: the client cannot know it arrived.
func replyLost(sessions ...int) func(n int, c *smtp.Conn, r io.Reader, keep func([]byte)) error {
	return func(n int, c *smtp.Conn, r io.Reader, keep func([]byte)) error {
		body, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		keep(body)
		for _, x := range sessions {
			if n == x {
				return cut(c)
			}
		}
		return nil
	}
}

// sameMessage checks that msgs are copies of one message: the same bytes,
// and so the same Message-ID, which a receiver drops a copy by.
func sameMessage(t *testing.T, msgs []received, want int) {
	t.Helper()
	if len(msgs) != want {
		t.Fatalf("%d messages, want %d", len(msgs), want)
	}
	for _, m := range msgs[1:] {
		if !bytes.Equal(m.data, msgs[0].data) {
			t.Errorf("the resent message differs from the first (%d and %d bytes)", len(m.data), len(msgs[0].data))
		}
	}
}

// TestReplyLostAfterAccept has the server keep the whole message and cut
// the connection before its reply. By default the identical message is
// sent again after a backoff, as SMTP itself does (RFC 5321 4.5.4.1): the
// server holds two byte-identical copies with one Message-ID. With
// NoResendUnknown the delivery is unknown and never resent.
func TestReplyLostAfterAccept(t *testing.T) {
	t.Run("resent", func(t *testing.T) {
		b := setup(t)
		b.orgs = b.orgs[1:]
		b.srv.data = replyLost(1)
		sum := b.send(t, b.sender(t, nil, nil))
		if diff := cmp.Diff(Summary{Added: 1, Sent: 1, Resent: 1}, sum); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]time.Duration{time.Second}, b.sleeps); diff != "" {
			t.Errorf("backoff (-want +got):\n%s", diff)
		}
		sameMessage(t, b.srv.messages(), 2)
		d := ledgerStates(t, b.ledger)["post@berg.example"]
		if d.State != ur.DeliverySent || d.Attempts != 2 || d.Resends != 1 || d.MessageHash == "" {
			t.Errorf("ledger %+v", d)
		}
		if p := parse(t, b.srv.messages()[0].data); p.messageID != "<"+d.MessageID+">" {
			t.Errorf("Message-ID %s, ledger %s", p.messageID, d.MessageID)
		}
	})
	t.Run("at most once", func(t *testing.T) {
		b := setup(t)
		b.orgs = b.orgs[1:]
		b.srv.data = replyLost(1)
		noResend := func(c *Config) { c.NoResendUnknown = true }
		sum := b.send(t, b.sender(t, nil, noResend))
		if diff := cmp.Diff(Summary{Added: 1, Unknown: 1}, sum); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
		if len(b.sleeps) != 0 {
			t.Errorf("an ambiguous failure was retried: %v", b.sleeps)
		}
		for range 2 {
			b.send(t, b.sender(t, nil, noResend))
		}
		if n := len(b.srv.messages()); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
		d := ledgerStates(t, b.ledger)["post@berg.example"]
		if d.State != ur.DeliveryUnknown || d.MessageID == "" || d.Resends != 0 {
			t.Errorf("ledger %+v", d)
		}
		// The operator finds it in the server's log and resolves it as sent.
		if err := b.ledger.ResolveDelivery(context.Background(), d.DeliveryKey, ur.DeliverySent); err != nil {
			t.Fatal(err)
		}
	})
}

// TestResendInAnotherRun loses the reply in a run with one attempt: the
// delivery is unknown, and the next run, on a new handle as another
// process, sends the identical message again.
func TestResendInAnotherRun(t *testing.T) {
	stores(t, func(t *testing.T, open func() ur.Deliveries) {
		b := setup(t)
		b.orgs = b.orgs[1:]
		b.srv.data = replyLost(1)
		one := func(c *Config) { c.Attempts = 1 }
		sum := b.send(t, b.sender(t, open(), one))
		if diff := cmp.Diff(Summary{Added: 1, Unknown: 1}, sum); diff != "" {
			t.Errorf("first run (-want +got):\n%s", diff)
		}
		b.advance(time.Hour) // the Date header stays the first attempt's
		ledger := open()
		sum = b.send(t, b.sender(t, ledger, one))
		if diff := cmp.Diff(Summary{Sent: 1, Resent: 1}, sum); diff != "" {
			t.Errorf("second run (-want +got):\n%s", diff)
		}
		sameMessage(t, b.srv.messages(), 2)
		d := ledgerStates(t, ledger)["post@berg.example"]
		if d.State != ur.DeliverySent || d.Attempts != 2 || d.Resends != 1 || !d.MessageDate.Equal(testNow) {
			t.Errorf("ledger %+v", d)
		}
		if sum := b.send(t, b.sender(t, open(), one)); !cmp.Equal(sum, Summary{}) {
			t.Errorf("third run %+v", sum)
		}
	})
}

// TestResendRefusedWhenTheReportChanged: a resend must be a copy. When the
// report file changed after the unknown attempt, the delivery fails with
// the reason rather than send a different message under the same
// Message-ID.
func TestResendRefusedWhenTheReportChanged(t *testing.T) {
	b := setup(t)
	b.orgs = b.orgs[1:]
	b.srv.data = replyLost(1)
	one := func(c *Config) { c.Attempts = 1 }
	b.send(t, b.sender(t, nil, one))
	b.writeReport(t, orgB, "xlsx", []byte("another report"))
	sum := b.send(t, b.sender(t, nil, one))
	if diff := cmp.Diff(Summary{Failed: 1}, sum); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}
	if n := len(b.srv.messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if d := ledgerStates(t, b.ledger)["post@berg.example"]; d.State != ur.DeliveryFailed || !strings.Contains(d.LastError, "not resent") || d.Attempts != 1 {
		t.Errorf("ledger %+v", d)
	}
}

// TestMessageBytesAreStable builds a message twice from one stamp, in
// senders that share nothing: the bytes are the same.
func TestMessageBytesAreStable(t *testing.T) {
	b := setup(t)
	st := stamp{id: "usagereport.x@operator.example", date: testNow}
	var hashes []string
	for range 2 {
		s := b.sender(t, nil, nil)
		r, err := s.readReport(b.reports, b.orgs[0], oct)
		if err != nil {
			t.Fatal(err)
		}
		_, h, err := s.build(r, "leder@fjord.example", st)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	if hashes[0] != hashes[1] {
		t.Errorf("two builds of one message differ: %s and %s", hashes[0], hashes[1])
	}
}

// TestCrashAfterAccept: the sender dies after the server accepted, before
// the ledger knew. The restarted sender resends the identical message (two
// copies, one Message-ID); with NoResendUnknown it leaves it unknown.
func TestCrashAfterAccept(t *testing.T) {
	for _, resend := range []bool{true, false} {
		t.Run(map[bool]string{true: "resent", false: "at most once"}[resend], func(t *testing.T) {
			stores(t, func(t *testing.T, open func() ur.Deliveries) {
				b := setup(t)
				b.orgs = b.orgs[1:]
				cfg := func(c *Config) { c.NoResendUnknown = !resend }
				_, err := b.sender(t, crashingLedger{open()}, cfg).Send(context.Background(), oct, b.reports, b.orgs)
				if !errors.Is(err, errCrash) {
					t.Fatalf("Send: %v, want the crash", err)
				}
				if n := len(b.srv.messages()); n != 1 {
					t.Fatalf("%d messages, want 1", n)
				}
				ledger := open() // the restarted process
				sum := b.send(t, b.sender(t, ledger, cfg))
				d := ledgerStates(t, ledger)["post@berg.example"]
				if resend {
					if diff := cmp.Diff(Summary{Sent: 1, Resent: 1}, sum); diff != "" {
						t.Errorf("summary after restart (-want +got):\n%s", diff)
					}
					sameMessage(t, b.srv.messages(), 2)
					if d.State != ur.DeliverySent || d.Resends != 1 || d.LastError != ur.DeadClaimantError {
						t.Errorf("ledger %+v", d)
					}
					return
				}
				if diff := cmp.Diff(Summary{}, sum); diff != "" {
					t.Errorf("summary after restart (-want +got):\n%s", diff)
				}
				if n := len(b.srv.messages()); n != 1 {
					t.Errorf("after the restart: %d messages, want 1", n)
				}
				if d.State != ur.DeliveryUnknown || d.LastError != ur.DeadClaimantError || d.MessageID == "" {
					t.Errorf("ledger %+v", d)
				}
			})
		})
	}
}
