package embedded

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	ur "usagereport"
	"usagereport/internal/flock"
)

// The delivery ledger is DIR/deliveries/<YYYY-MM>.json, one file per month,
// mode 0600 (it names recipients), read, changed and rewritten whole
// (writeJSON) under the store's lock. A claim is that read-change-write
// under the flock: two processes, or two goroutines, never claim the same
// delivery, and a crash leaves the old file or the new one.
//
// A claimant's liveness lock is a flock on DIR/deliveries/claimants/<id>.lock,
// held from NewClaimant to Close. The kernel drops it when the process dies,
// however it dies; a claim whose claimant's file is gone or lockable belonged
// to a dead process.
const (
	deliveriesDir = "deliveries"
	claimantsDir  = "claimants"
)

type deliveryEntry struct {
	Org       ur.Org           `json:"org"`
	Recipient string           `json:"recipient"`
	State     ur.DeliveryState `json:"state"`
	Attempts  int              `json:"attempts"`
	LastError string           `json:"last_error,omitempty"`
	LastCode  int              `json:"last_code,omitempty"`
	MessageID string           `json:"message_id,omitempty"`
	// MessageDate and MessageHash fix the message with MessageID.
	MessageDate time.Time `json:"message_date,omitzero"`
	MessageHash string    `json:"message_hash,omitempty"`
	Resends     int       `json:"resends,omitempty"`
	Claimant    string    `json:"claimant,omitempty"`
	RetryAt     time.Time `json:"retry_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type deliveriesDoc struct {
	Deliveries []deliveryEntry `json:"deliveries"`
}

func (s *Store) deliveriesPath(m ur.Month) string {
	return filepath.Join(s.dir, deliveriesDir, m.String()+".json")
}

func (s *Store) claimantPath(id string) string {
	return filepath.Join(s.dir, deliveriesDir, claimantsDir, id+".lock")
}

func (s *Store) readDeliveries(m ur.Month) ([]deliveryEntry, error) {
	var doc deliveriesDoc
	if _, err := readJSON(s.deliveriesPath(m), &doc); err != nil {
		return nil, err
	}
	return doc.Deliveries, nil
}

// updateDeliveries runs fn on month m's ledger under the store's lock, after
// turning the claims of dead claimants into unknown, and writes the ledger
// back when anything changed.
func (s *Store) updateDeliveries(m ur.Month, fn func(rows []deliveryEntry) ([]deliveryEntry, error)) error {
	return s.withLock(func() error {
		rows, err := s.readDeliveries(m)
		if err != nil {
			return err
		}
		before := slices.Clone(rows)
		s.recoverDead(rows)
		if fn != nil {
			if rows, err = fn(rows); err != nil {
				return err
			}
		}
		if slices.Equal(before, rows) {
			return nil
		}
		slices.SortFunc(rows, func(a, b deliveryEntry) int {
			return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Recipient, b.Recipient))
		})
		if err := os.MkdirAll(filepath.Join(s.dir, deliveriesDir), 0o700); err != nil {
			return err
		}
		return writeJSON(s.deliveriesPath(m), deliveriesDoc{rows}, "\t")
	})
}

// recoverDead turns sending rows of dead claimants into unknown.
func (s *Store) recoverDead(rows []deliveryEntry) {
	alive := map[string]bool{}
	for i := range rows {
		r := &rows[i]
		if r.State != ur.DeliverySending {
			continue
		}
		a, ok := alive[r.Claimant]
		if !ok {
			a = s.claimantAlive(r.Claimant)
			alive[r.Claimant] = a
		}
		if !a {
			r.State, r.LastError, r.UpdatedAt = ur.DeliveryUnknown, ur.DeadClaimantError, now()
		}
	}
}

// claimantAlive reports whether the claimant id still holds its lock. A
// flock taken through another open file conflicts even within one process.
func (s *Store) claimantAlive(id string) bool {
	if id == "" {
		return false
	}
	if flock.Held(s.claimantPath(id)) {
		return true
	}
	os.Remove(s.claimantPath(id)) // a dead claimant's leftover, if any
	return false
}

func now() time.Time { return time.Now().UTC() }

func (e deliveryEntry) delivery(m ur.Month) ur.Delivery {
	return ur.Delivery{
		DeliveryKey: ur.DeliveryKey{Org: e.Org, Month: m, Recipient: e.Recipient},
		State:       e.State, Attempts: e.Attempts, LastError: e.LastError, LastCode: e.LastCode,
		MessageID: e.MessageID, MessageDate: e.MessageDate, MessageHash: e.MessageHash, Resends: e.Resends,
		RetryAt: e.RetryAt, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}

func findDelivery(rows []deliveryEntry, k ur.DeliveryKey) int {
	return slices.IndexFunc(rows, func(e deliveryEntry) bool { return e.Org == k.Org && e.Recipient == k.Recipient })
}

// AddDeliveries records a pending delivery for each new key.
func (s *Store) AddDeliveries(ctx context.Context, keys []ur.DeliveryKey) (int, error) {
	byMonth := map[ur.Month][]ur.DeliveryKey{}
	for _, k := range keys {
		if k.Recipient == "" {
			return 0, errors.New("add deliveries: a recipient is empty")
		}
		byMonth[k.Month] = append(byMonth[k.Month], k)
	}
	added := 0
	for m, ks := range byMonth {
		err := s.updateDeliveries(m, func(rows []deliveryEntry) ([]deliveryEntry, error) {
			t := now()
			for _, k := range ks {
				if findDelivery(rows, k) >= 0 {
					continue
				}
				rows = append(rows, deliveryEntry{Org: k.Org, Recipient: k.Recipient, State: ur.DeliveryPending, CreatedAt: t, UpdatedAt: t})
				added++
			}
			return rows, nil
		})
		if err != nil {
			return added, fmt.Errorf("add deliveries of %s: %w", m, err)
		}
	}
	return added, nil
}

// ListDeliveries returns month m's ledger by organisation and recipient.
func (s *Store) ListDeliveries(ctx context.Context, m ur.Month) ([]ur.Delivery, error) {
	var out []ur.Delivery
	err := s.updateDeliveries(m, func(rows []deliveryEntry) ([]deliveryEntry, error) {
		for _, r := range rows {
			out = append(out, r.delivery(m))
		}
		return rows, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", m, err)
	}
	slices.SortFunc(out, func(a, b ur.Delivery) int {
		return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Recipient, b.Recipient))
	})
	return out, nil
}

// ResolveDelivery records an operator's decision on an unknown or failed
// delivery.
func (s *Store) ResolveDelivery(ctx context.Context, k ur.DeliveryKey, to ur.DeliveryState) error {
	err := s.updateDeliveries(k.Month, func(rows []deliveryEntry) ([]deliveryEntry, error) {
		i := findDelivery(rows, k)
		if i < 0 {
			return nil, ur.ErrNotFound
		}
		if err := checkResolve(rows[i].State, to); err != nil {
			return nil, err
		}
		rows[i].State, rows[i].Claimant, rows[i].UpdatedAt, rows[i].RetryAt = to, "", now(), time.Time{}
		return rows, nil
	})
	if err != nil {
		return fmt.Errorf("resolve delivery of %s %s: %w", k.Org, k.Month, err)
	}
	return nil
}

func checkResolve(from, to ur.DeliveryState) error {
	if from != ur.DeliveryUnknown && from != ur.DeliveryFailed {
		return fmt.Errorf("the delivery is %s: only unknown or failed ones are resolved", from)
	}
	if to != ur.DeliverySent && to != ur.DeliveryPending {
		return fmt.Errorf("resolve to %s: want sent or pending", to)
	}
	return nil
}

// claimant is the embedded store's ur.Claimant.
type claimant struct {
	s    *Store
	id   string
	lock *os.File
}

// NewClaimant takes a fresh liveness lock.
func (s *Store) NewClaimant(ctx context.Context) (ur.Claimant, error) {
	var b [8]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Join(s.dir, deliveriesDir, claimantsDir), 0o700); err != nil {
		return nil, fmt.Errorf("new claimant: %w", err)
	}
	f, err := os.OpenFile(s.claimantPath(id), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("new claimant: %w", err)
	}
	if err := flock.TryLock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("new claimant: lock: %w", err)
	}
	return &claimant{s: s, id: id, lock: f}, nil
}

// Claim turns the first pending (or, with o.Unknown, unknown) delivery of
// m into sending.
func (c *claimant) Claim(ctx context.Context, m ur.Month, o ur.ClaimOptions) (ur.Delivery, error) {
	var d ur.Delivery
	skip := map[ur.DeliveryKey]bool{}
	for _, k := range o.Skip {
		skip[k] = true
	}
	err := c.s.updateDeliveries(m, func(rows []deliveryEntry) ([]deliveryEntry, error) {
		t := now()
		at := o.Now
		if at.IsZero() {
			at = t
		}
		for i := range rows {
			r := &rows[i]
			if skip[ur.DeliveryKey{Org: r.Org, Month: m, Recipient: r.Recipient}] {
				continue
			}
			pending := r.State == ur.DeliveryPending && !r.RetryAt.After(at)
			unknown := o.Unknown && r.State == ur.DeliveryUnknown
			if pending || unknown {
				r.State, r.Claimant, r.UpdatedAt, r.RetryAt = ur.DeliverySending, c.id, t, time.Time{}
				d = r.delivery(m)
				d.Resend = unknown && r.MessageID != ""
				return rows, nil
			}
		}
		return nil, ur.ErrNoDelivery
	})
	if errors.Is(err, ur.ErrNoDelivery) {
		return d, err
	}
	if err != nil {
		return d, fmt.Errorf("claim a delivery of %s: %w", m, err)
	}
	return d, nil
}

// held finds k among rows, held by c in one of the states.
func (c *claimant) held(rows []deliveryEntry, k ur.DeliveryKey, states ...ur.DeliveryState) (*deliveryEntry, error) {
	i := findDelivery(rows, k)
	if i < 0 || rows[i].Claimant != c.id || !slices.Contains(states, rows[i].State) {
		return nil, ur.ErrNotClaimed
	}
	return &rows[i], nil
}

// Attempt counts an attempt and records the Message-ID.
func (c *claimant) Attempt(ctx context.Context, k ur.DeliveryKey, a ur.AttemptInfo) error {
	err := c.s.updateDeliveries(k.Month, func(rows []deliveryEntry) ([]deliveryEntry, error) {
		r, err := c.held(rows, k, ur.DeliverySending)
		if err != nil {
			return nil, err
		}
		r.Attempts++
		if a.Resend {
			r.Resends++
		}
		r.MessageID, r.MessageDate, r.MessageHash, r.UpdatedAt = a.MessageID, a.MessageDate.UTC(), a.MessageHash, now()
		if a.PrevErr != "" {
			r.LastError, r.LastCode = a.PrevErr, a.PrevCode
		}
		return rows, nil
	})
	if err != nil {
		return fmt.Errorf("record attempt for %s %s: %w", k.Org, k.Month, err)
	}
	return nil
}

// Finish records the outcome.
func (c *claimant) Finish(ctx context.Context, k ur.DeliveryKey, state ur.DeliveryState, lastErr string, code int) error {
	if state != ur.DeliverySent && state != ur.DeliveryFailed && state != ur.DeliveryUnknown {
		return fmt.Errorf("finish delivery: %s is no outcome", state)
	}
	err := c.s.updateDeliveries(k.Month, func(rows []deliveryEntry) ([]deliveryEntry, error) {
		r, err := c.held(rows, k, ur.DeliverySending, ur.DeliveryUnknown)
		if err != nil {
			return nil, err
		}
		r.State, r.UpdatedAt = state, now()
		if lastErr != "" {
			r.LastError, r.LastCode = lastErr, code // a sent delivery keeps the error its retries overcame
		}
		return rows, nil
	})
	if err != nil {
		return fmt.Errorf("finish delivery for %s %s: %w", k.Org, k.Month, err)
	}
	return nil
}

// Release returns a held delivery to pending.
func (c *claimant) Release(ctx context.Context, k ur.DeliveryKey, lastErr string, code int, retryAt time.Time) error {
	err := c.s.updateDeliveries(k.Month, func(rows []deliveryEntry) ([]deliveryEntry, error) {
		r, err := c.held(rows, k, ur.DeliverySending)
		if err != nil {
			return nil, err
		}
		r.State, r.Claimant, r.RetryAt, r.UpdatedAt = ur.DeliveryPending, "", retryAt.UTC(), now()
		if lastErr != "" {
			r.LastError, r.LastCode = lastErr, code
		}
		return rows, nil
	})
	if err != nil {
		return fmt.Errorf("release delivery for %s %s: %w", k.Org, k.Month, err)
	}
	return nil
}

// Close releases the liveness lock; only the first call does anything.
func (c *claimant) Close() error {
	if c.lock == nil {
		return nil
	}
	f := c.lock
	c.lock = nil
	os.Remove(f.Name())
	return f.Close() // closing the last descriptor drops the flock
}
