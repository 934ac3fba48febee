package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	ur "usagereport"
)

// Report workers share a month's organisations through report_runs and
// report_claims (migration 0600). The protocol, for each worker:
//
//  1. JoinReportRun: join the month's run, or start one when there is
//     none or the last one is finished and files came in since. Starting
//     fixes the ledger sequence the run counts up to, builds the month
//     partition's index on org if the month has no buckets and the index
//     is missing, and makes one open claim per organisation with records,
//     naming the bucket that holds its rows.
//  2. ClaimReportBatch: take open claims whose lease ran out (or never
//     ran), FOR UPDATE SKIP LOCKED so that workers claiming at once never
//     wait for each other nor take the same row, with a lease: every free
//     organisation of one bucket, so that ScanReportBatch reads the bucket
//     once, whole; or, for a bucket too large, part of it.
//     RenewReportClaims renews the lease while the worker works (its
//     heartbeat).
//  3. Publish each organisation (the publication record's primary key
//     makes the record once, whoever gets there first), put its files in
//     place, then FinishReportClaim. A worker killed before that leaves
//     the claim open; when the lease has run out another worker takes it
//     and finds the record, if there is one, and writes the files from
//     it.
//
// The lease is a time on the database server's clock (now()), so the
// workers' clocks do not matter.

// lockReportRuns is the first key of the two-key advisory lock that
// serialises starting a month's run (the second is the month). Two-key
// locks live in their own space, apart from the one-key locks of
// migrate.go.
const lockReportRuns int32 = 0x75727266 // "urrf"

// ReportRun is a month's run of report workers.
type ReportRun struct {
	Month ur.Month
	UpTo  int64 // the ledger sequence every worker of the run counts up to
	Orgs  int   // organisations in the run
	Rows  int64 // their records when the run started
	// Started is true for the worker that started the run.
	Started bool
}

// ReportClaim is one organisation a worker holds.
type ReportClaim struct {
	Org  ur.Org
	Rows int64
}

// ErrRunSettings is returned by JoinReportRun when the month's run in
// progress was started with other settings.
type ErrRunSettings struct {
	Month       ur.Month
	Run, Worker string
}

func (e ErrRunSettings) Error() string {
	return fmt.Sprintf("the report run of %s in progress was started with %s, this worker has %s", e.Month, e.Run, e.Worker)
}

// JoinReportRun joins month m's run of report workers, or starts one when
// the month has none, or when every organisation of the last one is done
// and files were committed since. lateOrgs, called only when a run starts,
// returns the organisations that have no records of m up to upTo but
// records of earlier months that count in m, with their count. settings
// names what the cells are made with (k, p, formats): a worker with other
// settings than the run in progress gets ErrRunSettings.
func (s *Store) JoinReportRun(ctx context.Context, m ur.Month, settings string, lateOrgs func(upTo int64) (map[ur.Org]int64, error)) (ReportRun, error) {
	run := ReportRun{Month: m}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockReportRuns, int32(m)); err != nil {
			return err
		}
		var open int
		var runSettings string
		err := tx.QueryRow(ctx, "SELECT up_to, settings, (SELECT count(*) FROM report_claims WHERE month = $1 AND state = 'open') FROM report_runs WHERE month = $1",
			int32(m)).Scan(&run.UpTo, &runSettings, &open)
		exists := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Every file up to the answer is committed (see LedgerSeq).
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock_shared($1)", lockLedger); err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM files").Scan(&seq); err != nil {
			return err
		}
		if exists && open > 0 && runSettings != settings {
			return ErrRunSettings{Month: m, Run: runSettings, Worker: settings}
		}
		if exists && (open > 0 || seq == run.UpTo) {
			return tx.QueryRow(ctx, "SELECT count(*), coalesce(sum(rows), 0)::bigint FROM report_claims WHERE month = $1", int32(m)).Scan(&run.Orgs, &run.Rows)
		}
		run.UpTo, run.Started = seq, true
		if err := s.ensureOrgIndex(ctx, tx, m); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO report_runs (month, up_to, settings) VALUES ($1, $2, $3)
			ON CONFLICT (month) DO UPDATE SET up_to = EXCLUDED.up_to, settings = EXCLUDED.settings, started_at = now()`, int32(m), seq, settings); err != nil {
			return err
		}
		// A new run reopens every organisation: those published by an
		// earlier run get their files written from the record again.
		if _, err := tx.Exec(ctx, "DELETE FROM report_claims WHERE month = $1", int32(m)); err != nil {
			return err
		}
		if err := openClaims(ctx, tx, m, seq); err != nil {
			return err
		}
		late, err := lateOrgs(seq)
		if err != nil {
			return err
		}
		for org, n := range late {
			if _, err := tx.Exec(ctx, `INSERT INTO report_claims (month, org, rows) VALUES ($1, $2, $3)
				ON CONFLICT (month, org) DO UPDATE SET rows = report_claims.rows + EXCLUDED.rows`, int32(m), int32(org), n); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, "SELECT count(*), coalesce(sum(rows), 0)::bigint FROM report_claims WHERE month = $1", int32(m)).Scan(&run.Orgs, &run.Rows)
	})
	if errors.As(err, new(ErrRunSettings)) {
		return ReportRun{}, err
	}
	if err != nil {
		return ReportRun{}, fmt.Errorf("join the report run of %s: %w", m, err)
	}
	return run, nil
}

// openClaims makes a claim for each organisation with records in month m
// from the files up to ledger sequence seq, with its rows, from the
// counts each file's commit wrote (file_org_rows): no record is read.
// part is the table that holds the organisation's rows: its bucket of the
// month (see orgBuckets), found by the server's own hash
// (satisfies_hash_partition, the check of a hash partition's bound), or
// the month's table for a month made before the buckets.
func openClaims(ctx context.Context, tx pgx.Tx, m ur.Month, seq int64) error {
	name := partitionName(m)
	if ok, err := partitionExists(ctx, tx, name); err != nil || !ok {
		return err // no table: no records
	}
	_, err := tx.Exec(ctx, `WITH bucket AS MATERIALIZED (
			SELECT c.oid::regclass::text AS part, b[1]::integer AS modulus, b[2]::integer AS remainder
			FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
				regexp_match(pg_get_expr(c.relpartbound, c.oid), 'modulus (\d+), remainder (\d+)') AS b
			WHERE i.inhparent = $3::regclass)
		INSERT INTO report_claims (month, org, rows, part)
		SELECT $1, c.org, c.rows, coalesce(
			(SELECT part FROM bucket WHERE satisfies_hash_partition($3::regclass::oid, modulus, remainder, c.org)),
			$3::regclass::text)
		FROM (SELECT org, sum(rows)::bigint AS rows FROM file_org_rows WHERE month = $1 AND seq <= $2 GROUP BY org) c`,
		int32(m), seq, name)
	return err
}

// ensureOrgIndex builds month m's partition's index on org, if missing and
// if the month has no buckets (it was made before them): then a worker's
// batch, a part of the month, is read through the index. A month with
// buckets needs none: a batch is a whole bucket, or part of one, read
// with a sequential scan of that bucket. The index is built when a month
// is first reported by workers, not kept up by every ingest: one sort of
// the month costs less than a COPY that updates an index row by row.
func (s *Store) ensureOrgIndex(ctx context.Context, tx pgx.Tx, m ur.Month) error {
	name := partitionName(m)
	var kind string
	err := tx.QueryRow(ctx, `SELECT c.relkind::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'records'::regclass AND c.relname = $1`, name).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && kind != "r") {
		return nil // no such month, or one with buckets
	}
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "CREATE INDEX IF NOT EXISTS "+pgx.Identifier{name + "_org"}.Sanitize()+" ON "+pgx.Identifier{name}.Sanitize()+" (org)")
	if err != nil {
		return fmt.Errorf("index %s on org: %w", name, err)
	}
	return nil
}

// ReportBatch is what a worker holds after ClaimReportBatch: organisations
// whose rows are in one table of the month.
type ReportBatch struct {
	Claims []ReportClaim
	// Part is the table that holds their rows: a bucket of the month (see
	// orgBuckets), the month's table when it has no buckets, or "" for
	// organisations that have late records only (no rows of the month).
	Part string
	// Whole is true when Claims are every organisation of Part in the run,
	// none done yet: the read then takes the whole table, once, with no
	// filter on org.
	Whole bool
}

// ClaimReportBatch takes, for holder, open claims of month m that no live
// lease holds and leases them for lease. It takes the free organisations
// of one bucket, the bucket with the most free rows first: all of them
// when their rows are at most maxRows, so that the bucket is read in one
// pass; else the largest, and others of the bucket, largest first, while
// their rows stay within maxRows. It returns an empty batch when no claim
// is free: all done, or all held.
func (s *Store) ClaimReportBatch(ctx context.Context, m ur.Month, holder string, lease time.Duration, maxRows int64) (ReportBatch, error) {
	// A batch is chosen from the free claims without locking them, and
	// only the chosen ones are then locked (SKIP LOCKED) and leased: a
	// lock on every candidate would hide from a worker claiming at the
	// same moment the organisations this one does not take. When another
	// worker took the chosen ones first, choose again.
	for attempt := 0; ; attempt++ {
		b, free, err := s.claimReportBatch(ctx, m, holder, lease, maxRows)
		if err != nil {
			return ReportBatch{}, fmt.Errorf("claim organisations of %s: %w", m, err)
		}
		if len(b.Claims) > 0 || !free || attempt == maxClaimAttempts {
			return b, nil
		}
		select {
		case <-ctx.Done():
			return ReportBatch{}, fmt.Errorf("claim organisations of %s: %w", m, context.Cause(ctx))
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
}

// maxClaimAttempts bounds the choices ClaimReportBatch makes again when
// other workers took what it chose.
const maxClaimAttempts = 20

// freeClaim is the condition on report_claims of a claim a worker may take.
const freeClaim = "state = 'open' AND (lease_until IS NULL OR lease_until < now())"

// claimReportBatch is one attempt of ClaimReportBatch; free says whether
// there were free claims to choose from.
func (s *Store) claimReportBatch(ctx context.Context, m ur.Month, holder string, lease time.Duration, maxRows int64) (out ReportBatch, free bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out, free = ReportBatch{}, false
		// The bucket with the most free rows, and how many claims it has
		// in all (done and held ones too).
		var freeRows int64
		var all int
		err := tx.QueryRow(ctx, `SELECT part, free_rows, n FROM (
				SELECT part, coalesce(sum(rows) FILTER (WHERE `+freeClaim+`), 0)::bigint AS free_rows,
					count(*) FILTER (WHERE `+freeClaim+`) AS free_n, count(*) AS n
				FROM report_claims WHERE month = $1 GROUP BY part) p
			WHERE free_n > 0 ORDER BY free_rows DESC, part LIMIT 1`, int32(m)).Scan(&out.Part, &freeRows, &all)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		free = true
		rows, err := tx.Query(ctx, `SELECT org, rows FROM report_claims
			WHERE month = $1 AND part = $2 AND `+freeClaim+`
			ORDER BY rows DESC, org`, int32(m), out.Part)
		if err != nil {
			return err
		}
		var sum int64
		var chosen []ReportClaim
		for rows.Next() {
			var org int32
			var n int64
			if err := rows.Scan(&org, &n); err != nil {
				rows.Close()
				return err
			}
			if len(chosen) > 0 && freeRows > maxRows && sum+n > maxRows {
				continue // a smaller one further on may still fit
			}
			chosen = append(chosen, ReportClaim{Org: ur.Org(org), Rows: n})
			sum += n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(chosen) == 0 {
			return nil
		}
		orgs := make([]int32, len(chosen))
		for i, c := range chosen {
			orgs[i] = int32(c.Org)
		}
		// Lock the chosen claims that are still free; another worker's
		// are skipped.
		rows, err = tx.Query(ctx, `SELECT org FROM report_claims
			WHERE month = $1 AND org = ANY($2) AND `+freeClaim+`
			FOR UPDATE SKIP LOCKED`, int32(m), orgs)
		if err != nil {
			return err
		}
		locked := map[int32]bool{}
		for rows.Next() {
			var org int32
			if err := rows.Scan(&org); err != nil {
				rows.Close()
				return err
			}
			locked[org] = true
		}
		if err := rows.Err(); err != nil {
			return err
		}
		orgs = orgs[:0]
		for _, c := range chosen {
			if locked[int32(c.Org)] {
				out.Claims = append(out.Claims, c)
				orgs = append(orgs, int32(c.Org))
			}
		}
		if len(orgs) == 0 {
			return nil
		}
		// Whole when this batch holds every claim of the part. Counted
		// again now that they are locked: the first count was made before.
		if out.Part != "" && len(out.Claims) == all {
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM report_claims WHERE month = $1 AND part = $2", int32(m), out.Part).Scan(&all); err != nil {
				return err
			}
			out.Whole = len(out.Claims) == all
		}
		_, err = tx.Exec(ctx, `UPDATE report_claims SET holder = $3, lease_until = now() + make_interval(secs => $4), attempts = attempts + 1
			WHERE month = $1 AND org = ANY($2)`, int32(m), orgs, holder, lease.Seconds())
		return err
	})
	if err != nil {
		return ReportBatch{}, false, err
	}
	return out, free, nil
}

// RenewReportClaims extends the lease of holder's open claims of month m,
// and returns how many it holds.
func (s *Store) RenewReportClaims(ctx context.Context, m ur.Month, holder string, lease time.Duration) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE report_claims SET lease_until = now() + make_interval(secs => $3)
		WHERE month = $1 AND holder = $2 AND state = 'open'`, int32(m), holder, lease.Seconds())
	if err != nil {
		return 0, fmt.Errorf("renew the claims of %s: %w", m, err)
	}
	return int(tag.RowsAffected()), nil
}

// ReleaseReportClaims gives up holder's open claims of month m at once,
// for a worker that stops before it is done, so that others need not wait
// for the lease to run out.
func (s *Store) ReleaseReportClaims(ctx context.Context, m ur.Month, holder string) error {
	_, err := s.pool.Exec(ctx, `UPDATE report_claims SET holder = '', lease_until = NULL
		WHERE month = $1 AND holder = $2 AND state = 'open'`, int32(m), holder)
	if err != nil {
		return fmt.Errorf("release the claims of %s: %w", m, err)
	}
	return nil
}

// FinishReportClaim marks org's claim of month m done with outcome, after
// its record (if any) is committed and its files are in place. It reports
// false when the claim was done already: another worker that took it over
// finished first.
func (s *Store) FinishReportClaim(ctx context.Context, m ur.Month, org ur.Org, holder, outcome string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE report_claims SET state = 'done', holder = $3, outcome = $4, done_at = now(), lease_until = NULL
		WHERE month = $1 AND org = $2 AND state = 'open'`, int32(m), int32(org), holder, outcome)
	if err != nil {
		return false, fmt.Errorf("finish the claim of %s %s: %w", org, m, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReportRunState counts month m's claims that are done and open.
func (s *Store) ReportRunState(ctx context.Context, m ur.Month) (done, open int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'open')
		FROM report_claims WHERE month = $1`, int32(m)).Scan(&done, &open)
	if err != nil {
		return 0, 0, fmt.Errorf("read the report run of %s: %w", m, err)
	}
	return done, open, nil
}
