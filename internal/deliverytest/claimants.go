package deliverytest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

// The checks across claimants: two claiming at once, one that dies while
// sending, and the identical resend of an outcome left unknown.

// testResendUnknown claims unknown deliveries for a resend only when asked:
// one whose attempt was recorded comes back with its message (Message-ID,
// date, hash) and Resend set, and the resend is counted at its attempt;
// one whose claimant died before any attempt is no resend.
func testResendUnknown(t *testing.T, open Opener) {
	ctx := context.Background()
	d1, d2 := open(t), open(t)
	ks := keys(oct, 2)
	if _, err := d1.AddDeliveries(ctx, ks); err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 11, 5, 7, 0, 0, 0, time.UTC)
	dead, err := d1.NewClaimant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := dead.Claim(ctx, oct, ur.ClaimOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sent := ur.AttemptInfo{MessageID: "m1@x", MessageDate: date, MessageHash: "abc123"}
	if err := dead.Attempt(ctx, ks[0], sent); err != nil {
		t.Fatal(err)
	}
	dead.Close()
	c := newClaimant(t, d2)
	if _, err := c.Claim(ctx, oct, ur.ClaimOptions{}); !errors.Is(err, ur.ErrNoDelivery) {
		t.Fatalf("Claim without Unknown: %v, want ErrNoDelivery", err)
	}
	got := map[ur.DeliveryKey]ur.Delivery{}
	for range 2 {
		x, err := c.Claim(ctx, oct, ur.ClaimOptions{Unknown: true})
		if err != nil {
			t.Fatal(err)
		}
		got[x.DeliveryKey] = x
	}
	if _, err := c.Claim(ctx, oct, ur.ClaimOptions{Unknown: true}); !errors.Is(err, ur.ErrNoDelivery) {
		t.Errorf("third Claim: %v, want ErrNoDelivery", err)
	}
	r := got[ks[0]]
	if !r.Resend || r.State != ur.DeliverySending || r.MessageID != "m1@x" || !r.MessageDate.Equal(date) || r.MessageHash != "abc123" {
		t.Errorf("claimed after an attempt: %+v, want a resend with its message", r)
	}
	if n := got[ks[1]]; n.Resend || n.MessageID != "" {
		t.Errorf("claimed before any attempt: %+v, want no resend", n)
	}
	resend := sent
	resend.Resend, resend.PrevErr = true, ur.DeadClaimantError
	if err := c.Attempt(ctx, ks[0], resend); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(ctx, ks[0], ur.DeliverySent, "", 0); err != nil {
		t.Fatal(err)
	}
	ds, err := d1.ListDeliveries(ctx, oct)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ds {
		if x.DeliveryKey != ks[0] {
			continue
		}
		if x.State != ur.DeliverySent || x.Attempts != 2 || x.Resends != 1 || x.MessageHash != "abc123" || x.Resend {
			t.Errorf("after the resend: %+v", x)
		}
	}
}

// testConcurrentClaims claims from several claimants on two handles (two
// "processes") at once: each delivery is claimed exactly once.
func testConcurrentClaims(t *testing.T, open Opener) {
	ctx := context.Background()
	d1, d2 := open(t), open(t)
	const n = 40
	if _, err := d1.AddDeliveries(ctx, keys(oct, n)); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
	)
	for i := range 6 {
		d := d1
		if i%2 == 1 {
			d = d2
		}
		c := newClaimant(t, d)
		wg.Go(func() {
			for {
				x, err := c.Claim(ctx, oct, ur.ClaimOptions{})
				if errors.Is(err, ur.ErrNoDelivery) {
					return
				}
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				mu.Lock()
				claimed[x.Recipient]++
				mu.Unlock()
				if err := c.Finish(ctx, x.DeliveryKey, ur.DeliverySent, "", 0); err != nil {
					t.Errorf("Finish: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if len(claimed) != n {
		t.Errorf("%d deliveries claimed, want %d", len(claimed), n)
	}
	for r, k := range claimed {
		if k != 1 {
			t.Errorf("%s claimed %d times", r, k)
		}
	}
}

// testDeadClaimant closes a claimant that holds a delivery, as a process
// that dies does: the delivery becomes unknown, is never claimed again,
// and is shown as unknown from another handle.
func testDeadClaimant(t *testing.T, open Opener) {
	ctx := context.Background()
	d1, d2 := open(t), open(t)
	if _, err := d1.AddDeliveries(ctx, keys(oct, 2)); err != nil {
		t.Fatal(err)
	}
	dead, err := d1.NewClaimant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	x, err := dead.Claim(ctx, oct, ur.ClaimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := dead.Attempt(ctx, x.DeliveryKey, ur.AttemptInfo{MessageID: "lost@x"}); err != nil {
		t.Fatal(err)
	}
	live := newClaimant(t, d2)
	y, err := live.Claim(ctx, oct, ur.ClaimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// While both live, the dead one's claim is still sending.
	got := states(t, d2, oct)
	for _, s := range got {
		if s.State != ur.DeliverySending {
			t.Errorf("%s is %s while its claimant lives, want sending", s.Recipient, s.State)
		}
	}
	dead.Close()
	if _, err := live.Claim(ctx, oct, ur.ClaimOptions{}); !errors.Is(err, ur.ErrNoDelivery) {
		t.Errorf("Claim after the claimant died: %v, want ErrNoDelivery (unknown is never resent)", err)
	}
	want := map[string]state{
		x.Recipient: {x.Org, x.Recipient, ur.DeliveryUnknown, 1, ur.DeadClaimantError, 0, "lost@x"},
		y.Recipient: {y.Org, y.Recipient, ur.DeliverySending, 0, "", 0, ""},
	}
	byRcpt := map[string]state{}
	for _, s := range states(t, d2, oct) {
		byRcpt[s.Recipient] = s
	}
	if diff := cmp.Diff(want, byRcpt); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}
	if err := live.Finish(ctx, y.DeliveryKey, ur.DeliverySent, "", 0); err != nil {
		t.Errorf("Finish by the live claimant: %v", err)
	}
}
