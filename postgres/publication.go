package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	ur "usagereport"
)

// LedgerSeq returns the highest sequence of a committed file. Taking the
// ledger lock shared waits for a commit that holds it, so every file with
// a sequence up to the answer is committed: sequences are handed out and
// committed under that lock.
func (s *Store) LedgerSeq(ctx context.Context) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock_shared($1)", lockLedger); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM files").Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("read ledger sequence: %w", err)
	}
	return n, nil
}

// ScanMonthSeq streams month m's records of the files with a sequence in
// (after, upTo] to fn, with the sequence, decoded as ScanMonth does.
func (s *Store) ScanMonthSeq(ctx context.Context, m ur.Month, after, upTo int64, fn func(*ur.Record, int64) error) error {
	return s.scanRecords(ctx, m, true, fn,
		`SELECT r.org, r.subscriber, r.cost_centre, r.service, r.zone, r.duration_s, r.volume_bytes, r.charge, f.seq
		FROM records r JOIN files f ON f.id = r.file_id
		WHERE r.month = $1 AND f.seq > $2 AND f.seq <= $3`, int32(m), after, upTo)
}

const pubColumns = "org, month, version, min_group_size, dominance_p, format, published_at, covered_seq, late_events, reason, digest"

func scanPublication(row pgx.Row, cells *[]byte) (ur.Publication, error) {
	var (
		p               ur.Publication
		org, m, version int32
		k               int32
		digest          []byte
	)
	dest := []any{&org, &m, &version, &k, &p.DominanceP, &p.Format, &p.PublishedAt, &p.Covered, &p.LateEvents, &p.Reason, &digest}
	if cells != nil {
		dest = append(dest, cells)
	}
	if err := row.Scan(dest...); err != nil {
		return p, err
	}
	p.Org, p.Month, p.Version, p.MinGroupSize = ur.Org(org), ur.Month(m), int(version), int(k)
	if len(digest) != 32 {
		return p, errors.New("bad digest")
	}
	copy(p.Digest[:], digest)
	return p, nil
}

// Publications lists every publication record, without cells.
func (s *Store) Publications(ctx context.Context) ([]ur.Publication, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+pubColumns+" FROM publications ORDER BY org, month, version")
	if err != nil {
		return nil, fmt.Errorf("list publications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ur.Publication, error) { return scanPublication(r, nil) })
	if err != nil {
		return nil, fmt.Errorf("list publications: %w", err)
	}
	return out, nil
}

// Publication reads one version with its cells.
func (s *Store) Publication(ctx context.Context, org ur.Org, m ur.Month, version int) (ur.Publication, error) {
	var enc []byte
	p, err := scanPublication(s.pool.QueryRow(ctx, "SELECT "+pubColumns+", cells FROM publications WHERE org = $1 AND month = $2 AND version = $3",
		int32(org), int32(m), int32(version)), &enc)
	if errors.Is(err, pgx.ErrNoRows) {
		return ur.Publication{}, ur.ErrNotPublished
	}
	if err != nil {
		return ur.Publication{}, fmt.Errorf("read publication %s %s v%d: %w", org, m, version, err)
	}
	if p.Cells, err = ur.DecodeCheckedCells(enc, p.Digest); err != nil {
		return ur.Publication{}, fmt.Errorf("read publication %s %s v%d: %w", org, m, version, err)
	}
	return p, nil
}

// Publish inserts the record; a row of the same version makes it
// ErrPublished (another run was first).
func (s *Store) Publish(ctx context.Context, p *ur.Publication) error {
	enc := ur.EncodeCells(p.Cells)
	if ur.Digest(enc) != p.Digest {
		return fmt.Errorf("publish %s %s v%d: the digest does not match the cells", p.Org, p.Month, p.Version)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO publications (`+pubColumns+`, cells)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
		int32(p.Org), int32(p.Month), int32(p.Version), int32(p.MinGroupSize), p.DominanceP, p.Format,
		p.PublishedAt, p.Covered, p.LateEvents, p.Reason, p.Digest[:], enc)
	if err != nil {
		return fmt.Errorf("publish %s %s v%d: %w", p.Org, p.Month, p.Version, err)
	}
	if tag.RowsAffected() == 0 {
		return ur.ErrPublished
	}
	return nil
}

// DeletePublications deletes every publication record of org.
func (s *Store) DeletePublications(ctx context.Context, org ur.Org) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM publications WHERE org = $1", int32(org))
	if err != nil {
		return 0, fmt.Errorf("delete publications of %s: %w", org, err)
	}
	return int(tag.RowsAffected()), nil
}

// DeletePublicationsBefore deletes the records of the months before m.
func (s *Store) DeletePublicationsBefore(ctx context.Context, m ur.Month) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM publications WHERE month < $1", int32(m))
	if err != nil {
		return 0, fmt.Errorf("delete publications before %s: %w", m, err)
	}
	return int(tag.RowsAffected()), nil
}
