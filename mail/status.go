package mail

import (
	"context"
	"fmt"
	"time"

	ur "usagereport"
)

// Status is where a month's deliveries stand, whichever run sent them.
type Status struct {
	Month ur.Month
	Now   time.Time // what Overdue is measured against
	// Deliveries is the month's ledger by organisation and recipient.
	Deliveries []ur.Delivery
	Sent       int
	Pending    int // waiting for their next attempt
	Overdue    int // pending, and their next attempt is due already
	Failed     int
	Unknown    int
	Sending    int // held by a sender that is alive
	// Resent counts the sent deliveries that took a resend after an
	// unknown outcome (Delivery.Resends > 0).
	Resent int
}

// MonthStatus reads month m's ledger and counts it at now.
func MonthStatus(ctx context.Context, ledger ur.Deliveries, m ur.Month, now time.Time) (Status, error) {
	ds, err := ledger.ListDeliveries(ctx, m)
	if err != nil {
		return Status{}, fmt.Errorf("delivery status of %s: %w", m, err)
	}
	return NewStatus(m, ds, now), nil
}

// NewStatus counts ds, the ledger of month m, at now.
func NewStatus(m ur.Month, ds []ur.Delivery, now time.Time) Status {
	st := Status{Month: m, Now: now, Deliveries: ds}
	for _, d := range ds {
		switch d.State {
		case ur.DeliverySent:
			st.Sent++
			if d.Resends > 0 {
				st.Resent++
			}
		case ur.DeliveryPending:
			if IsOverdue(d, now) {
				st.Overdue++
			} else {
				st.Pending++
			}
		case ur.DeliveryFailed:
			st.Failed++
		case ur.DeliveryUnknown:
			st.Unknown++
		case ur.DeliverySending:
			st.Sending++
		}
	}
	return st
}

// IsOverdue says whether d is pending and its next attempt is due at now:
// no run is trying it although it should be.
func IsOverdue(d ur.Delivery, now time.Time) bool {
	return d.State == ur.DeliveryPending && !d.RetryAt.After(now)
}

// Outstanding is the number of the month's deliveries not sent.
func (st Status) Outstanding() int { return len(st.Deliveries) - st.Sent }
