package usagereport

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound reports an organisation (or another named thing) that a store
// does not have.
var ErrNotFound = errors.New("not found")

// OrgInfo is an organisation's entry in the registry.
type OrgInfo struct {
	Org  Org
	Name string
	// AgreementEnd is the last day of the agreement (a date, UTC midnight);
	// zero while the agreement runs. Six months after it, every record of
	// the organisation is purged.
	AgreementEnd time.Time
	// Recipients get the monthly report by email. Personal data: never in a
	// report, and in logs only where an operator needs it.
	Recipients []string
	// MinGroupSize overrides the run's k for this organisation when it is
	// larger; 0 means none. Never below the global floor.
	MinGroupSize int
}

// Registry keeps the organisations a store serves.
type Registry interface {
	PutOrg(ctx context.Context, o OrgInfo) error
	Org(ctx context.Context, org Org) (OrgInfo, error) // ErrNotFound
	Orgs(ctx context.Context) ([]OrgInfo, error)
	// RemoveOrg deletes the organisation's entry and revokes its access
	// tokens (see Tokens); ErrNotFound if it has none. Records stay until
	// purged.
	RemoveOrg(ctx context.Context, org Org) error
}

// Purger deletes records for retention. Both return the number of records
// deleted.
type Purger interface {
	// DeleteMonthsBefore deletes every record of the months before m.
	DeleteMonthsBefore(ctx context.Context, m Month) (int64, error)
	// DeleteOrg deletes every record of org, in every month.
	DeleteOrg(ctx context.Context, org Org) (int64, error)
}
