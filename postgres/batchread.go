package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	ur "usagereport"
)

// What a report worker reads for a batch it claimed (claims.go): which of
// its organisations are published already, and the rows of the others.

// PublishedVersions returns the latest published version of month m of
// each of orgs that has one.
func (s *Store) PublishedVersions(ctx context.Context, m ur.Month, orgs []ur.Org) (map[ur.Org]int, error) {
	ids := make([]int32, len(orgs))
	for i, o := range orgs {
		ids[i] = int32(o)
	}
	rows, err := s.pool.Query(ctx, "SELECT org, max(version) FROM publications WHERE month = $1 AND org = ANY($2) GROUP BY org", int32(m), ids)
	if err != nil {
		return nil, fmt.Errorf("read publications of %s: %w", m, err)
	}
	out := make(map[ur.Org]int)
	var org, v int32
	_, err = pgx.ForEachRow(rows, []any{&org, &v}, func() error {
		out[ur.Org(org)] = int(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read publications of %s: %w", m, err)
	}
	return out, nil
}

// ScanReportBatch streams the records of month m of orgs, organisations
// of batch b (all of its claims, or those not published yet), from the
// files with a sequence at most upTo, decoded as ScanMonth does. It reads
// b's table alone:
//
//   - a whole bucket (b.Whole, and orgs are all of b): a sequential scan of
//     the bucket, every row once and no filter on org;
//   - part of a bucket (a bucket too large for one batch, or one whose
//     other organisations are done): a sequential scan of the bucket that
//     sends these organisations' rows only;
//   - part of a month made before the buckets: through the month's index
//     on org (ensureOrgIndex);
//   - organisations with late records only (b.Part ""): nothing.
func (s *Store) ScanReportBatch(ctx context.Context, m ur.Month, b ReportBatch, orgs []ur.Org, upTo int64, fn func(*ur.Record) error) error {
	if b.Part == "" || len(orgs) == 0 {
		return nil
	}
	ids := make([]int32, len(orgs))
	for i, o := range orgs {
		ids[i] = int32(o)
	}
	const columns = "r.org, r.subscriber, r.cost_centre, r.service, r.zone, r.duration_s, r.volume_bytes, r.charge"
	query := "SELECT " + columns + " FROM records r JOIN files f ON f.id = r.file_id WHERE r.month = $1 AND r.org = ANY($2) AND f.seq <= $3"
	args := []any{int32(m), ids, upTo}
	if monthTable(m, b.Part) {
		from := "SELECT " + columns + " FROM " + pgx.Identifier{b.Part}.Sanitize() + " r JOIN files f ON f.id = r.file_id WHERE f.seq <= $1"
		if b.Whole && len(orgs) == len(b.Claims) {
			query, args = from, []any{upTo}
		} else {
			query, args = from+" AND r.org = ANY($2)", []any{upTo, ids}
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// A bitmap of a batch's rows, when read through the index on
		// org, stays exact (no recheck of whole pages) with some room.
		if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '64MB'"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, query, append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var r ur.Record
		r.Month = m
		names := make(map[string]string)
		var n int64
		for rows.Next() {
			n++
			if err := decodeRecord(rows.RawValues(), &r, names); err != nil {
				return fmt.Errorf("record %d: %w", n, err)
			}
			if err := fn(&r); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("scan month %s of %d organisations: %w", m, len(orgs), err)
	}
	return nil
}

// monthTable reports whether part, a claim's table, is month m's partition
// or one of its buckets, as the ingest names them: then it can be read by
// name. (A name given otherwise, say with a schema, is read through
// records.)
func monthTable(m ur.Month, part string) bool {
	name := partitionName(m)
	if part == name {
		return true
	}
	rest, ok := strings.CutPrefix(part, name+"_h")
	return ok && len(rest) == 2 && '0' <= rest[0] && rest[0] <= '9' && '0' <= rest[1] && rest[1] <= '9'
}
