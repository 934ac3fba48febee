package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	ur "usagereport"
)

// errMinGroupSize reports an override below the floor of 3 (0 means none).
var errMinGroupSize = errors.New("minimum group size must be 0 (none) or at least 3")

// PutOrg adds the organisation or replaces its entry.
func (s *Store) PutOrg(ctx context.Context, o ur.OrgInfo) error {
	if o.MinGroupSize != 0 && o.MinGroupSize < 3 {
		return fmt.Errorf("put organisation %s: %w", o.Org, errMinGroupSize)
	}
	if _, err := ur.ParseOrgString(o.Org.String()); err != nil {
		return fmt.Errorf("put organisation: %w", err)
	}
	end := pgtype.Date{}
	if !o.AgreementEnd.IsZero() {
		end = pgtype.Date{Time: o.AgreementEnd, Valid: true}
	}
	recipients := o.Recipients
	if recipients == nil {
		recipients = []string{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO orgs (org, name, agreement_end, recipients, min_group_size)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (org) DO UPDATE SET name = excluded.name, agreement_end = excluded.agreement_end,
			recipients = excluded.recipients, min_group_size = excluded.min_group_size`,
		int32(o.Org), o.Name, end, recipients, int32(o.MinGroupSize))
	if err != nil {
		return fmt.Errorf("put organisation %s: %w", o.Org, err)
	}
	return nil
}

const orgColumns = "org, name, agreement_end, recipients, min_group_size"

func scanOrg(row pgx.Row) (ur.OrgInfo, error) {
	var (
		o    ur.OrgInfo
		org  int32
		end  pgtype.Date
		minK int32
	)
	if err := row.Scan(&org, &o.Name, &end, &o.Recipients, &minK); err != nil {
		return o, err
	}
	o.Org = ur.Org(org)
	if end.Valid {
		t := end.Time
		o.AgreementEnd = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	if len(o.Recipients) == 0 {
		o.Recipients = nil
	}
	o.MinGroupSize = int(minK)
	return o, nil
}

// Org returns the organisation's entry, or ur.ErrNotFound.
func (s *Store) Org(ctx context.Context, org ur.Org) (ur.OrgInfo, error) {
	o, err := scanOrg(s.pool.QueryRow(ctx, "SELECT "+orgColumns+" FROM orgs WHERE org = $1", int32(org)))
	if errors.Is(err, pgx.ErrNoRows) {
		return ur.OrgInfo{}, fmt.Errorf("organisation %s: %w", org, ur.ErrNotFound)
	}
	if err != nil {
		return ur.OrgInfo{}, fmt.Errorf("organisation %s: %w", org, err)
	}
	return o, nil
}

// Orgs lists the registry by organisation number.
func (s *Store) Orgs(ctx context.Context) ([]ur.OrgInfo, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+orgColumns+" FROM orgs ORDER BY org")
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ur.OrgInfo, error) { return scanOrg(r) })
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	return out, nil
}

// RemoveOrg revokes the organisation's access tokens and deletes its entry
// (not its records: see DeleteOrg), in one transaction, or returns
// ur.ErrNotFound and changes nothing.
func (s *Store) RemoveOrg(ctx context.Context, org ur.Org) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM orgs WHERE org = $1", int32(org))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ur.ErrNotFound
		}
		_, err = tx.Exec(ctx, "UPDATE tokens SET revoked_at = now() WHERE org = $1 AND revoked_at IS NULL", int32(org))
		return err
	})
	if err != nil {
		return fmt.Errorf("remove organisation %s: %w", org, err)
	}
	return nil
}
