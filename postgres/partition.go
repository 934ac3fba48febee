package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/jackc/pgx/v5"

	ur "usagereport"
)

// partitionName returns the name of month m's partition of records.
func partitionName(m ur.Month) string {
	return fmt.Sprintf("records_%04d_%02d", m.Year(), int(m.Month()))
}

// orgBuckets is how many partitions a month's partition is cut into, by a
// hash of the organisation: a report worker that takes the organisations
// of one bucket reads that bucket alone, once (see claims.go), where an
// index on org over one table would have every batch visit nearly every
// page of the month, since an organisation's rows are spread over all of
// it. A month made before this has no buckets and is read through its
// index on org.
const orgBuckets = 16

// ensurePartition makes sure month m has its partition, creating it if
// needed, itself partitioned into orgBuckets by organisation. It runs in a short transaction of its own on a connection of the
// ddl pool,
// never in an ingest's transaction, and is safe to race:
//
//   - Creators serialise on a transaction-level advisory lock and check
//     again under it, so two ingests of the same new month make one table.
//   - The table is made with CREATE TABLE ... LIKE and then attached with
//     ALTER TABLE ... ATTACH PARTITION. CREATE TABLE ... PARTITION OF would
//     take an ACCESS EXCLUSIVE lock on records, so it would wait for every
//     running ingest to commit: including the caller's own transaction on
//     its other connection, a deadlock the server cannot see. ATTACH takes
//     SHARE UPDATE EXCLUSIVE, which does not conflict with the ROW
//     EXCLUSIVE lock of a COPY nor with readers; and a later statement of a
//     running transaction routes rows to the new partition (tested).
//   - lock_timeout bounds the wait behind a purge that drops a partition
//     (ACCESS EXCLUSIVE on records, itself queued behind our ingest).
func (s *Store) ensurePartition(ctx context.Context, m ur.Month) error {
	name := partitionName(m)
	if ok, err := partitionExists(ctx, s.ddl, name); err != nil || ok {
		return err
	}
	err := pgx.BeginFunc(ctx, s.ddl, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '30s'"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockPartitions); err != nil {
			return err
		}
		if ok, err := partitionExists(ctx, tx, name); err != nil || ok {
			return err
		}
		id := pgx.Identifier{name}.Sanitize()
		if _, err := tx.Exec(ctx, "CREATE TABLE "+id+" (LIKE records INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY HASH (org)"); err != nil {
			return err
		}
		// The buckets are made while the month's table is not attached
		// yet: PARTITION OF locks only it, which nobody uses.
		for i := range orgBuckets {
			b := pgx.Identifier{fmt.Sprintf("%s_h%02d", name, i)}.Sanitize()
			if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE %s PARTITION OF %s FOR VALUES WITH (MODULUS %d, REMAINDER %d)", b, id, orgBuckets, i)); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE records ATTACH PARTITION %s FOR VALUES IN (%d)", id, int32(m)))
		return err
	})
	if err != nil {
		return fmt.Errorf("create partition for %s: %w", m, err)
	}
	s.logger.Info("created partition", slog.String(attrPartition, name))
	return nil
}

type queryRower interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

func partitionExists(ctx context.Context, q queryRower, name string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (
		SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'records'::regclass AND c.relname = $1)`, name).Scan(&ok)
	return ok, err
}

type partition struct {
	month ur.Month
	name  string
}

// partitions lists the partitions of records, by month. The month is read
// from the partition bound, not parsed from the name.
func (s *Store) partitions(ctx context.Context) ([]partition, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.relname, (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'IN \((-?\d+)\)'))[1]::integer
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'records'::regclass`)
	if err != nil {
		return nil, err
	}
	var out []partition
	for rows.Next() {
		var p partition
		var m int32
		if err := rows.Scan(&p.name, &m); err != nil {
			rows.Close()
			return nil, err
		}
		p.month = ur.Month(m)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].month < out[j].month })
	return out, nil
}
