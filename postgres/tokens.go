package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	ur "usagereport"
)

// CreateToken stores a token of org by its hash.
func (s *Store) CreateToken(ctx context.Context, org ur.Org, name string, hash []byte) (int64, error) {
	if len(hash) != 32 {
		return 0, fmt.Errorf("create token: the hash must be 32 bytes, got %d", len(hash))
	}
	var id int64
	err := s.pool.QueryRow(ctx, "INSERT INTO tokens (org, name, hash) VALUES ($1, $2, $3) RETURNING id",
		int32(org), name, hash).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create token for %s: %w", org, err)
	}
	return id, nil
}

const tokenColumns = "id, org, name, created_at, revoked_at"

func scanToken(row pgx.Row) (ur.TokenInfo, error) {
	var (
		t       ur.TokenInfo
		org     int32
		revoked *time.Time
	)
	if err := row.Scan(&t.ID, &org, &t.Name, &t.CreatedAt, &revoked); err != nil {
		return t, err
	}
	t.Org = ur.Org(org)
	t.CreatedAt = t.CreatedAt.UTC()
	if revoked != nil {
		t.RevokedAt = revoked.UTC()
	}
	return t, nil
}

// TokenByHash returns the valid token with this hash, or ur.ErrNotFound.
//
// The lookup goes through the unique index on hash, whose timing depends on
// the bytes compared. That leaks nothing useful: the index holds hashes, and
// a caller controls the token, not its SHA-256, so learning that a guess's
// hash shares a prefix with a stored one brings no token closer.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (ur.TokenInfo, error) {
	t, err := scanToken(s.pool.QueryRow(ctx,
		"SELECT "+tokenColumns+" FROM tokens WHERE hash = $1 AND revoked_at IS NULL", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return ur.TokenInfo{}, fmt.Errorf("look up token: %w", ur.ErrNotFound)
	}
	if err != nil {
		return ur.TokenInfo{}, fmt.Errorf("look up token: %w", err)
	}
	return t, nil
}

// ListTokens lists the tokens of org (all when 0), by id.
func (s *Store) ListTokens(ctx context.Context, org ur.Org) ([]ur.TokenInfo, error) {
	rows, err := s.pool.Query(ctx,
		"SELECT "+tokenColumns+" FROM tokens WHERE $1 = 0 OR org = $1 ORDER BY id", int32(org))
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ur.TokenInfo, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken marks the token revoked; it stays listed.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, "UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke token %d: %w", id, ur.ErrNotFound)
	}
	return nil
}

// AppendAudit inserts one event; it is durable when the insert commits.
func (s *Store) AppendAudit(ctx context.Context, ev ur.AuditEvent) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO audit_log (at, org, report, outcome, remote) VALUES ($1, $2, $3, $4, $5)",
		ev.Time, int32(ev.Org), ev.Report, ev.Outcome, ev.Remote)
	if err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// AuditEvents returns the events at or after since, oldest first.
func (s *Store) AuditEvents(ctx context.Context, since time.Time) ([]ur.AuditEvent, error) {
	rows, err := s.pool.Query(ctx,
		"SELECT at, org, report, outcome, remote FROM audit_log WHERE at >= $1 ORDER BY at, id", since)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ur.AuditEvent, error) {
		var (
			ev  ur.AuditEvent
			org int32
		)
		err := r.Scan(&ev.Time, &org, &ev.Report, &ev.Outcome, &ev.Remote)
		ev.Time, ev.Org = ev.Time.UTC(), ur.Org(org)
		return ev, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
