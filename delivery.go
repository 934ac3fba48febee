package usagereport

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DeliveryState is where one report's delivery to one recipient stands.
//
//	pending --Claim--> sending --Finish--> sent | failed | unknown
//	sending --Release--> pending (temporary failures, retried later)
//	sending --(its claimant died)--> unknown
//	unknown --Claim with ClaimOptions.Unknown--> sending (a resend)
//
// Pending deliveries are claimed; unknown ones only by a sender that
// resends unknown outcomes (SMTP's own practice, RFC 5321 4.5.4.1), which
// sends the identical message again: same bytes, same Message-ID, so that
// a receiver that already has it can drop the copy. Nothing sent or failed
// is sent again without an operator saying so (ResolveDelivery).
type DeliveryState string

const (
	DeliveryPending DeliveryState = "pending" // not tried yet, or released by an operator
	DeliverySending DeliveryState = "sending" // claimed by a live sender
	DeliverySent    DeliveryState = "sent"    // the server accepted the message
	DeliveryFailed  DeliveryState = "failed"  // refused (5xx), or temporary failures outlasted the retries
	// DeliveryUnknown: the server may have accepted the message, but nobody
	// knows: the connection broke after the whole message was written, or
	// the sender died while sending. A sender that resends unknown outcomes
	// claims it again and sends the identical message; one that does not
	// leaves it to an operator, who checks (by Message-ID, in the mail
	// server's log) and resolves it.
	DeliveryUnknown DeliveryState = "unknown"
)

// ParseDeliveryState reads a state's name.
func ParseDeliveryState(s string) (DeliveryState, error) {
	switch st := DeliveryState(s); st {
	case DeliveryPending, DeliverySending, DeliverySent, DeliveryFailed, DeliveryUnknown:
		return st, nil
	}
	return "", fmt.Errorf("delivery state %q: want pending, sending, sent, failed or unknown", s)
}

// DeliveryKey names one delivery: an organisation's report of a month to
// one recipient. The recipient is personal data: see OrgInfo.Recipients.
type DeliveryKey struct {
	Org       Org
	Month     Month
	Recipient string
}

// Delivery is one row of the delivery ledger.
type Delivery struct {
	DeliveryKey
	State     DeliveryState
	Attempts  int    // SMTP transactions started
	LastError string // of the last failed attempt; "" when none
	// LastCode is the SMTP reply code of the last failed attempt; 0 when
	// the server gave none (a lost connection) or nothing failed.
	LastCode int
	// MessageID (without angle brackets), MessageDate and MessageHash fix
	// the message at its first attempt: every attempt, and a resend in
	// another process, builds the same bytes (SHA-256 MessageHash, hex).
	MessageID   string
	MessageDate time.Time
	MessageHash string
	// Resends counts the attempts that sent the message again after an
	// attempt whose outcome was unknown.
	Resends int
	// Resend is set by Claim on a delivery claimed from unknown after an
	// attempt: its next attempt is a resend of the same message.
	Resend bool
	// RetryAt is when a pending delivery released after temporary failures
	// may be claimed again; zero for any time.
	RetryAt   time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ClaimOptions narrow what Claimant.Claim takes.
type ClaimOptions struct {
	// Now is compared with RetryAt; zero for the store's clock.
	Now time.Time
	// Unknown claims unknown deliveries too, to resend them.
	Unknown bool
	// Skip lists deliveries not to claim (those that used the run's
	// attempts already).
	Skip []DeliveryKey
}

// AttemptInfo is what Claimant.Attempt records before an SMTP transaction.
type AttemptInfo struct {
	MessageID   string
	MessageDate time.Time
	MessageHash string
	// PrevErr and PrevCode are the previous attempt's error and reply code,
	// if it failed; kept as the last error.
	PrevErr  string
	PrevCode int
	// Resend says the previous attempt's outcome is unknown: this one
	// sends the same message again, and is counted in Resends.
	Resend bool
}

// ErrNoDelivery is returned by Claimant.Claim when no delivery of the month
// is pending (or every pending one is being claimed by someone else).
var ErrNoDelivery = errors.New("no pending delivery")

// ErrNotClaimed is returned by Claimant.Attempt and Finish for a delivery the
// claimant does not hold.
var ErrNotClaimed = errors.New("delivery not claimed by this sender")

// Deliveries is the delivery ledger: one row per (organisation, month,
// recipient). Both stores implement it.
//
// Exactly once rests on two rules. A delivery is claimed (pending to
// sending) atomically, across processes, before anything is sent, so two
// senders never hold the same one. And a claimant holds a liveness lock for
// as long as it lives (a flock, or a PostgreSQL session advisory lock),
// which the operating system or the server releases when the process dies:
// a delivery in sending whose claimant's lock is free belonged to a dead
// process, which may or may not have handed the message over, so it
// becomes unknown, never pending.
type Deliveries interface {
	// AddDeliveries records a pending delivery for each key the ledger does
	// not have yet and returns how many it added. Existing rows, whatever
	// their state, are left alone: a rerun adds nothing.
	AddDeliveries(ctx context.Context, keys []DeliveryKey) (int, error)
	// ListDeliveries returns the ledger of month m by organisation and
	// recipient. Deliveries whose claimant died are shown as unknown.
	ListDeliveries(ctx context.Context, m Month) ([]Delivery, error)
	// ResolveDelivery is the operator's decision on a delivery in unknown
	// or failed: to (sent) it arrived, or (pending) send it again. It
	// returns ErrNotFound for no such delivery, and an error for any other
	// state or target.
	ResolveDelivery(ctx context.Context, k DeliveryKey, to DeliveryState) error
	// NewClaimant starts a sender's session with the ledger. Close it when
	// done; a claimant left open by a process that dies is released by the
	// operating system or the database server.
	NewClaimant(ctx context.Context) (Claimant, error)
}

// Claimant claims deliveries and records their outcomes. It is used by one
// goroutine at a time.
type Claimant interface {
	// Claim turns one pending delivery of month m whose RetryAt has come
	// (and with o.Unknown, an unknown one) into sending, held by this
	// claimant, and returns it; ErrNoDelivery when none is left. First it
	// turns the sending deliveries of dead claimants into unknown.
	Claim(ctx context.Context, m Month, o ClaimOptions) (Delivery, error)
	// Attempt records that an SMTP transaction is about to start: it counts
	// the attempt (and a resend), fixes the message (Message-ID, date,
	// hash), and keeps the previous attempt's error (if any) as the last
	// error. Call it before every attempt, so the ledger knows the message
	// before the server can.
	Attempt(ctx context.Context, k DeliveryKey, a AttemptInfo) error
	// Finish records the outcome: sent, failed or unknown, with the last
	// error and its SMTP code. It also succeeds when the delivery was
	// marked unknown meanwhile (this claimant was thought dead), since the
	// outcome is now known.
	Finish(ctx context.Context, k DeliveryKey, state DeliveryState, lastErr string, code int) error
	// Release returns a delivery this claimant holds in sending to pending,
	// to be claimed again from retryAt on, keeping lastErr and code. The
	// caller asserts that no attempt can have been accepted: each one
	// failed before the whole message was written, or was refused.
	Release(ctx context.Context, k DeliveryKey, lastErr string, code int, retryAt time.Time) error
	// Close releases the liveness lock. Deliveries still in sending become
	// unknown at the next Claim or List.
	Close() error
}

// DeadClaimantError is the last error recorded for a delivery whose sender
// died while it was sending.
const DeadClaimantError = "the sender stopped while sending: the server may or may not have the message"
