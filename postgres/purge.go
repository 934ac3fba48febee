package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	ur "usagereport"
)

// DeleteMonthsBefore deletes every record of the months before m. The
// ledger keeps its rows, so a purged file ingested again stays out.
//
// Each old partition is emptied in a transaction of its own: lock it,
// count, TRUNCATE. The lock is on that partition only, so ingests and
// reports of other months go on; an ingest still writing into an old month
// is waited for, and its records are purged with the rest. Then the empty
// partition is dropped, which needs an ACCESS EXCLUSIVE lock on records
// itself, so that is tried under a short lock_timeout: behind a running
// ingest it gives up, leaves the empty partition for the next purge, and
// never stalls the ingests and reports queued behind it for long.
func (s *Store) DeleteMonthsBefore(ctx context.Context, m ur.Month) (int64, error) {
	parts, err := s.partitions(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete months before %s: %w", m, err)
	}
	var total int64
	for _, p := range parts {
		if p.month >= m {
			continue
		}
		id := pgx.Identifier{p.name}.Sanitize()
		var n int64
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "LOCK TABLE "+id+" IN ACCESS EXCLUSIVE MODE"); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+id).Scan(&n); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "DELETE FROM file_org_rows WHERE month = $1", int32(p.month)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "TRUNCATE "+id)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("delete month %s: %w", p.month, err)
		}
		total += n
		s.logger.Info("purged month", slog.String(attrMonth, p.month.String()), slog.Int64(attrRows, n))
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '2s'"); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "DROP TABLE "+id)
			return err
		})
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available
			s.logger.Info("empty partition left for the next purge", slog.String(attrPartition, p.name))
			continue
		}
		if err != nil {
			return total, fmt.Errorf("drop partition of %s: %w", p.month, err)
		}
	}
	return total, nil
}

// DeleteOrg deletes every record of org, in every month, in one
// transaction. Rows only: it runs beside ingests and reports.
func (s *Store) DeleteOrg(ctx context.Context, org ur.Org) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM records WHERE org = $1", int32(org))
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, "DELETE FROM file_org_rows WHERE org = $1", int32(org))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete organisation %s: %w", org, err)
	}
	return n, nil
}
