// Package deliverytest is the conformance suite of ur.Deliveries: every store
// runs the same tests against its delivery ledger.
package deliverytest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

// Opener opens the ledger under test. Called twice in one test it must
// return two handles on the same ledger, as two processes would have.
type Opener func(t *testing.T) ur.Deliveries

// Organisation numbers with valid check digits, and the months used.
const (
	orgA ur.Org = 974760673
	orgB ur.Org = 923609016
)

var (
	oct = ur.MonthOf(2026, 10)
	nov = ur.MonthOf(2026, 11)
)

func keys(m ur.Month, n int) []ur.DeliveryKey {
	var out []ur.DeliveryKey
	for i := range n {
		org := orgA
		if i%2 == 1 {
			org = orgB
		}
		out = append(out, ur.DeliveryKey{Org: org, Month: m, Recipient: fmt.Sprintf("r%02d@example.com", i)})
	}
	return out
}

// state is a delivery reduced to what the tests compare.
type state struct {
	Org       ur.Org
	Recipient string
	State     ur.DeliveryState
	Attempts  int
	LastError string
	LastCode  int
	MessageID string
}

func states(t *testing.T, d ur.Deliveries, m ur.Month) []state {
	t.Helper()
	ds, err := d.ListDeliveries(context.Background(), m)
	if err != nil {
		t.Fatalf("ListDeliveries: %v", err)
	}
	var out []state
	for _, x := range ds {
		if x.Month != m {
			t.Errorf("ListDeliveries(%s) returned a delivery of %s", m, x.Month)
		}
		if x.CreatedAt.IsZero() || x.UpdatedAt.Before(x.CreatedAt) {
			t.Errorf("delivery %s: created %v, updated %v", x.Org, x.CreatedAt, x.UpdatedAt)
		}
		out = append(out, state{x.Org, x.Recipient, x.State, x.Attempts, x.LastError, x.LastCode, x.MessageID})
	}
	return out
}

func newClaimant(t *testing.T, d ur.Deliveries) ur.Claimant {
	t.Helper()
	c, err := d.NewClaimant(context.Background())
	if err != nil {
		t.Fatalf("NewClaimant: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	t.Run("AddAndList", func(t *testing.T) { testAddAndList(t, open(t)) })
	t.Run("ClaimAttemptFinish", func(t *testing.T) { testClaimAttemptFinish(t, open(t)) })
	t.Run("ConcurrentClaims", func(t *testing.T) { testConcurrentClaims(t, open) })
	t.Run("DeadClaimant", func(t *testing.T) { testDeadClaimant(t, open) })
	t.Run("Resolve", func(t *testing.T) { testResolve(t, open(t)) })
	t.Run("Release", func(t *testing.T) { testRelease(t, open(t)) })
	t.Run("ResendUnknown", func(t *testing.T) { testResendUnknown(t, open) })
	t.Run("ClaimOptions", func(t *testing.T) { testClaimOptions(t, open(t)) })
}

// testClaimOptions: Skip leaves deliveries alone, and Now decides which
// retry times have come.
func testClaimOptions(t *testing.T, d ur.Deliveries) {
	ctx := context.Background()
	ks := keys(oct, 2)
	if _, err := d.AddDeliveries(ctx, ks); err != nil {
		t.Fatal(err)
	}
	c := newClaimant(t, d)
	x, err := c.Claim(ctx, oct, ur.ClaimOptions{Skip: ks[1:]})
	if err != nil || x.DeliveryKey != ks[0] {
		t.Fatalf("Claim skipping %v = %v, %v", ks[1], x.DeliveryKey, err)
	}
	if _, err := c.Claim(ctx, oct, ur.ClaimOptions{Skip: ks[1:]}); !errors.Is(err, ur.ErrNoDelivery) {
		t.Errorf("Claim with the rest skipped: %v, want ErrNoDelivery", err)
	}
	retryAt := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := c.Release(ctx, x.DeliveryKey, "451 later", 451, retryAt); err != nil {
		t.Fatal(err)
	}
	o := ur.ClaimOptions{Now: retryAt.Add(-time.Second), Skip: ks[1:]}
	if _, err := c.Claim(ctx, oct, o); !errors.Is(err, ur.ErrNoDelivery) {
		t.Errorf("Claim a second before the retry time: %v, want ErrNoDelivery", err)
	}
	o.Now = retryAt
	if y, err := c.Claim(ctx, oct, o); err != nil || y.DeliveryKey != ks[0] || y.LastCode != 451 {
		t.Errorf("Claim at the retry time = %+v, %v", y, err)
	}
}

func testAddAndList(t *testing.T, d ur.Deliveries) {
	ctx := context.Background()
	ks := append(keys(oct, 3), keys(nov, 1)...)
	n, err := d.AddDeliveries(ctx, ks)
	if err != nil || n != 4 {
		t.Fatalf("AddDeliveries = %d, %v; want 4, nil", n, err)
	}
	if n, err := d.AddDeliveries(ctx, ks[:2]); err != nil || n != 0 {
		t.Fatalf("AddDeliveries again = %d, %v; want 0, nil", n, err)
	}
	want := []state{
		{Org: orgB, Recipient: "r01@example.com", State: ur.DeliveryPending},
		{Org: orgA, Recipient: "r00@example.com", State: ur.DeliveryPending},
		{Org: orgA, Recipient: "r02@example.com", State: ur.DeliveryPending},
	}
	if diff := cmp.Diff(want, states(t, d, oct)); diff != "" {
		t.Errorf("October (-want +got):\n%s", diff)
	}
	if got := states(t, d, nov); len(got) != 1 {
		t.Errorf("November has %d deliveries, want 1", len(got))
	}
	if got := states(t, d, ur.MonthOf(2020, 1)); len(got) != 0 {
		t.Errorf("an empty month lists %v", got)
	}
}

func testClaimAttemptFinish(t *testing.T, d ur.Deliveries) {
	ctx := context.Background()
	if _, err := d.AddDeliveries(ctx, keys(oct, 3)); err != nil {
		t.Fatal(err)
	}
	c := newClaimant(t, d)
	other := newClaimant(t, d)
	var got []ur.Delivery
	for {
		x, err := c.Claim(ctx, oct, ur.ClaimOptions{})
		if errors.Is(err, ur.ErrNoDelivery) {
			break
		}
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if x.State != ur.DeliverySending {
			t.Errorf("claimed delivery is %s, want sending", x.State)
		}
		got = append(got, x)
	}
	if len(got) != 3 {
		t.Fatalf("claimed %d deliveries, want 3", len(got))
	}
	k0, k1, k2 := got[0].DeliveryKey, got[1].DeliveryKey, got[2].DeliveryKey
	if err := other.Attempt(ctx, k0, ur.AttemptInfo{MessageID: "id0@x"}); !errors.Is(err, ur.ErrNotClaimed) {
		t.Errorf("Attempt by another claimant: %v, want ErrNotClaimed", err)
	}
	if err := other.Finish(ctx, k0, ur.DeliverySent, "", 0); !errors.Is(err, ur.ErrNotClaimed) {
		t.Errorf("Finish by another claimant: %v, want ErrNotClaimed", err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Attempt(ctx, k0, ur.AttemptInfo{MessageID: "id0@x"}))
	must(c.Attempt(ctx, k0, ur.AttemptInfo{MessageID: "id0@x", PrevErr: "421 try later", PrevCode: 421}))
	must(c.Finish(ctx, k0, ur.DeliverySent, "", 0))
	must(c.Attempt(ctx, k1, ur.AttemptInfo{MessageID: "id1@x"}))
	must(c.Finish(ctx, k1, ur.DeliveryFailed, "550 no such user", 550))
	must(c.Attempt(ctx, k2, ur.AttemptInfo{MessageID: "id2@x"}))
	must(c.Finish(ctx, k2, ur.DeliveryUnknown, "connection reset after the message was written", 0))
	if err := c.Finish(ctx, k0, ur.DeliveryFailed, "again", 0); !errors.Is(err, ur.ErrNotClaimed) {
		t.Errorf("Finish of a sent delivery: %v, want ErrNotClaimed", err)
	}
	if err := c.Attempt(ctx, k2, ur.AttemptInfo{MessageID: "id2@x"}); !errors.Is(err, ur.ErrNotClaimed) {
		t.Errorf("Attempt on an unknown delivery: %v, want ErrNotClaimed", err)
	}
	byKey := map[ur.DeliveryKey]state{}
	for _, s := range states(t, d, oct) {
		byKey[ur.DeliveryKey{Org: s.Org, Month: oct, Recipient: s.Recipient}] = s
	}
	wants := map[ur.DeliveryKey]state{
		k0: {k0.Org, k0.Recipient, ur.DeliverySent, 2, "421 try later", 421, "id0@x"},
		k1: {k1.Org, k1.Recipient, ur.DeliveryFailed, 1, "550 no such user", 550, "id1@x"},
		k2: {k2.Org, k2.Recipient, ur.DeliveryUnknown, 1, "connection reset after the message was written", 0, "id2@x"},
	}
	if diff := cmp.Diff(wants, byKey); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}
	if _, err := c.Claim(ctx, oct, ur.ClaimOptions{}); !errors.Is(err, ur.ErrNoDelivery) {
		t.Errorf("Claim after all finished: %v, want ErrNoDelivery", err)
	}
}

func testResolve(t *testing.T, d ur.Deliveries) {
	ctx := context.Background()
	ks := keys(oct, 2)
	if _, err := d.AddDeliveries(ctx, ks); err != nil {
		t.Fatal(err)
	}
	if err := d.ResolveDelivery(ctx, ks[0], ur.DeliverySent); err == nil {
		t.Error("resolving a pending delivery succeeded")
	}
	missing := ur.DeliveryKey{Org: orgA, Month: oct, Recipient: "nobody@example.com"}
	if err := d.ResolveDelivery(ctx, missing, ur.DeliverySent); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("resolving a missing delivery: %v, want ErrNotFound", err)
	}
	c := newClaimant(t, d)
	for range 2 {
		x, err := c.Claim(ctx, oct, ur.ClaimOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Finish(ctx, x.DeliveryKey, ur.DeliveryUnknown, "cut", 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.ResolveDelivery(ctx, ks[0], ur.DeliveryFailed); err == nil {
		t.Error("resolving to failed succeeded")
	}
	if err := d.ResolveDelivery(ctx, ks[0], ur.DeliverySent); err != nil {
		t.Fatal(err)
	}
	if err := d.ResolveDelivery(ctx, ks[1], ur.DeliveryPending); err != nil {
		t.Fatal(err)
	}
	x, err := c.Claim(ctx, oct, ur.ClaimOptions{})
	if err != nil || x.DeliveryKey != ks[1] {
		t.Errorf("Claim after resolving to pending = %v, %v; want %v", x.DeliveryKey, err, ks[1])
	}
	if _, err := c.Claim(ctx, oct, ur.ClaimOptions{}); !errors.Is(err, ur.ErrNoDelivery) {
		t.Errorf("second Claim: %v, want ErrNoDelivery", err)
	}
}

// testRelease returns a delivery to pending after temporary failures: it
// is not claimed before its retry time, and keeps its attempts and error.
func testRelease(t *testing.T, d ur.Deliveries) {
	ctx := context.Background()
	if _, err := d.AddDeliveries(ctx, keys(oct, 1)); err != nil {
		t.Fatal(err)
	}
	c := newClaimant(t, d)
	x, err := c.Claim(ctx, oct, ur.ClaimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Attempt(ctx, x.DeliveryKey, ur.AttemptInfo{MessageID: "id@x"}); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := c.Release(ctx, x.DeliveryKey, "421 busy", 421, later); err != nil {
		t.Fatal(err)
	}
	if err := c.Release(ctx, x.DeliveryKey, "421 busy", 421, later); !errors.Is(err, ur.ErrNotClaimed) {
		t.Errorf("second Release: %v, want ErrNotClaimed", err)
	}
	ds, err := d.ListDeliveries(ctx, oct)
	if err != nil || len(ds) != 1 {
		t.Fatalf("ListDeliveries = %v, %v", ds, err)
	}
	if got := ds[0]; got.State != ur.DeliveryPending || got.Attempts != 1 || got.LastError != "421 busy" || got.LastCode != 421 || got.MessageID != "id@x" || !got.RetryAt.Round(time.Second).Equal(later.Round(time.Second)) {
		t.Errorf("released delivery = %+v", got)
	}
	if _, err := c.Claim(ctx, oct, ur.ClaimOptions{}); !errors.Is(err, ur.ErrNoDelivery) {
		t.Errorf("Claim before the retry time: %v, want ErrNoDelivery", err)
	}
	// Released with a retry time past, it is claimed again.
	if _, err := d.AddDeliveries(ctx, keys(nov, 1)); err != nil {
		t.Fatal(err)
	}
	y, err := c.Claim(ctx, nov, ur.ClaimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Release(ctx, y.DeliveryKey, "", 0, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if z, err := c.Claim(ctx, nov, ur.ClaimOptions{}); err != nil || z.DeliveryKey != y.DeliveryKey || !z.RetryAt.IsZero() {
		t.Errorf("Claim after the retry time = %+v, %v; want %v", z, err, y.DeliveryKey)
	}
}
