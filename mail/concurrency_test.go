package mail

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

// gatedClock blocks every sleep until the test opens the gate: a backoff
// that lasts as long as the test wants, without the test waiting on time.
type gatedClock struct {
	sleeping chan time.Duration
	gate     chan struct{}
}

func (gatedClock) Now() time.Time { return testNow }

func (c gatedClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeping <- d
	select {
	case <-c.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestBackoffBlocksNoOtherDelivery refuses one recipient with 451 once:
// while that delivery waits out its backoff, the others are sent.
func TestBackoffBlocksNoOtherDelivery(t *testing.T) {
	b := setup(t)
	for i := range 5 {
		b.orgs[1].Recipients = append(b.orgs[1].Recipients, fmt.Sprintf("person%d@berg.example", i))
	}
	var once sync.Once
	b.srv.rcpt = func(n int, c *smtp.Conn, to string) error {
		var err error
		if to == "leder@fjord.example" {
			once.Do(func() { err = smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "try later") })
		}
		return err
	}
	clk := gatedClock{sleeping: make(chan time.Duration), gate: make(chan struct{})}
	s, err := NewSender(b.config(), b.ledger, nil, WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan Summary)
	go func() {
		sum, err := s.Send(context.Background(), oct, b.reports, b.orgs)
		if err != nil {
			t.Errorf("Send: %v", err)
		}
		done <- sum
	}()
	if d := <-clk.sleeping; d != time.Second {
		t.Errorf("backoff %v, want 1s", d)
	}
	// While the refused delivery waits, every other one goes.
	deadline := time.After(20 * time.Second)
	for len(b.srv.messages()) < 7 {
		select {
		case <-deadline:
			t.Fatalf("while one delivery waited, %d of the 7 others were sent", len(b.srv.messages()))
		case <-time.After(5 * time.Millisecond):
		}
	}
	close(clk.gate)
	sum := <-done
	if diff := cmp.Diff(Summary{Added: 8, Sent: 8}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if d := ledgerStates(t, b.ledger)["leder@fjord.example"]; d.State != ur.DeliverySent || d.Attempts != 2 || d.LastCode != 451 {
		t.Errorf("ledger %+v", d)
	}
}

// TestConcurrencyIsBounded holds each message in DATA until as many
// sessions as allowed are in DATA at once: the run reaches the bound and
// never exceeds it.
func TestConcurrencyIsBounded(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			b := setup(t)
			for i := range 10 {
				b.orgs[1].Recipients = append(b.orgs[1].Recipients, fmt.Sprintf("person%d@berg.example", i))
			}
			var (
				mu           sync.Mutex
				inData, most int
				full         = make(chan struct{})
				fullOnce     sync.Once
			)
			b.srv.data = func(n int, c *smtp.Conn, r io.Reader, keep func([]byte)) error {
				mu.Lock()
				inData++
				most = max(most, inData)
				if inData == limit {
					fullOnce.Do(func() { close(full) })
				}
				mu.Unlock()
				defer func() { mu.Lock(); inData--; mu.Unlock() }()
				select {
				case <-full:
				case <-time.After(20 * time.Second):
					return smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "the bound was never reached")
				}
				body, err := io.ReadAll(r)
				keep(body)
				return err
			}
			sum := b.send(t, b.sender(t, nil, func(c *Config) { c.Concurrency = limit }))
			if sum.Sent != 13 {
				t.Errorf("summary %+v, want 13 sent", sum)
			}
			if most != limit {
				t.Errorf("%d sessions in DATA at most, want %d", most, limit)
			}
		})
	}
}
