package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	ur "usagereport"
)

func noLate(int64) (map[ur.Org]int64, error) { return nil, nil }

func TestReportClaims(t *testing.T) {
	ctx := context.Background()
	s, url := mustOpen(t)
	recs := genRecords(1200, jan, feb, mar) // 200 of orgA and 200 of orgB in each month
	mustIngest(t, s, "one", recs)

	run, err := s.JoinReportRun(ctx, jan, "k=5", noLate)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Started || run.Orgs != 2 || run.Rows != 400 || run.UpTo < 1 {
		t.Fatalf("first join: %+v, want a started run of 2 organisations and 400 rows", run)
	}
	again, err := s.JoinReportRun(ctx, jan, "k=5", noLate)
	if err != nil {
		t.Fatal(err)
	}
	if again.Started || again.UpTo != run.UpTo || again.Orgs != 2 {
		t.Fatalf("second join: %+v, want to join %+v", again, run)
	}

	if _, err := s.JoinReportRun(ctx, jan, "k=6", noLate); !errors.As(err, new(ErrRunSettings)) {
		t.Errorf("join with other settings: %v, want ErrRunSettings", err)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// A month with buckets is read bucket by bucket, with no index.
	if n := queryInt(t, conn, "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'records_2026_01%'"); n != 0 {
		t.Errorf("the run built %d indexes on January's buckets, want none", n)
	}

	// Two workers claiming at once take one organisation each, never the
	// same; a third finds every claim held.
	var wg sync.WaitGroup
	got := make([][]ReportClaim, 2)
	for i, h := range []string{"h1", "h2"} {
		wg.Go(func() {
			b, err := s.ClaimReportBatch(ctx, jan, h, time.Minute, 1)
			if err != nil {
				t.Error(err)
			}
			got[i] = b.Claims
		})
	}
	wg.Wait()
	if len(got[0]) != 1 || len(got[1]) != 1 || got[0][0].Org == got[1][0].Org {
		t.Fatalf("concurrent claims: %+v, want one organisation each, different", got)
	}
	if b, err := s.ClaimReportBatch(ctx, jan, "h3", time.Minute, 1000); err != nil || len(b.Claims) != 0 {
		t.Fatalf("claim with every lease held: %+v, %v", b, err)
	}
	if n, err := s.RenewReportClaims(ctx, jan, "h2", time.Minute); err != nil || n != 1 {
		t.Errorf("renew: %d, %v; want 1", n, err)
	}

	// h1 dies: once its lease has run out (set in the past here, as the
	// server's clock would), h3 takes its organisation.
	if _, err := conn.Exec(ctx, "UPDATE report_claims SET lease_until = now() - interval '1 second' WHERE holder = 'h1'"); err != nil {
		t.Fatal(err)
	}
	tb, err := s.ClaimReportBatch(ctx, jan, "h3", time.Minute, 1000)
	taken := tb.Claims
	if err != nil || len(taken) != 1 || taken[0].Org != got[0][0].Org {
		t.Fatalf("claim after h1's lease ran out: %+v, %v; want %v", taken, err, got[0][0].Org)
	}
	if first, err := s.FinishReportClaim(ctx, jan, taken[0].Org, "h3", "published"); err != nil || !first {
		t.Errorf("h3 finishes: %v, %v; want true", first, err)
	}
	if first, err := s.FinishReportClaim(ctx, jan, taken[0].Org, "h1", "published"); err != nil || first {
		t.Errorf("h1 finishes after h3: %v, %v; want false", first, err)
	}
	if done, open, err := s.ReportRunState(ctx, jan); err != nil || done != 1 || open != 1 {
		t.Errorf("state: %d done, %d open, %v; want 1 and 1", done, open, err)
	}

	// h2 stops: what it holds is free at once.
	if err := s.ReleaseReportClaims(ctx, jan, "h2"); err != nil {
		t.Fatal(err)
	}
	rb, err := s.ClaimReportBatch(ctx, jan, "h3", time.Minute, 1000)
	rest := rb.Claims
	if err != nil || len(rest) != 1 || rest[0].Org != got[1][0].Org {
		t.Fatalf("claim after h2 released: %+v, %v", rest, err)
	}
	// Whole only when the other organisation, done, is of another bucket.
	if sameBucket := queryInt(t, conn, "SELECT count(DISTINCT part) FROM report_claims WHERE month = $1", int32(jan)) == 1; rb.Whole == sameBucket {
		t.Errorf("the last batch: whole %v, with both organisations in one bucket %v", rb.Whole, sameBucket)
	}

	// A worker reads its organisations' rows only, of the run's files,
	// whether it reads the whole bucket or part of it.
	mustIngest(t, s, "two", genRecords(10, jan))
	for _, whole := range []bool{rb.Whole, false} {
		var n int
		b := rb
		b.Whole = whole
		err = s.ScanReportBatch(ctx, jan, b, []ur.Org{rest[0].Org}, run.UpTo, func(r *ur.Record) error {
			if r.Org != rest[0].Org || r.Month != jan {
				t.Errorf("read a record of %v %v", r.Org, r.Month)
			}
			n++
			return nil
		})
		if err != nil || n != 200 {
			t.Errorf("scan of %v up to the run (whole %v): %d records, %v; want 200", rest[0].Org, whole, n, err)
		}
	}
	if _, err := s.FinishReportClaim(ctx, jan, rest[0].Org, "h3", "withheld"); err != nil {
		t.Fatal(err)
	}

	// The run is done, and a file came in since: the next worker starts a
	// new run that counts it, every organisation open again.
	next, err := s.JoinReportRun(ctx, jan, "k=5", noLate)
	if err != nil {
		t.Fatal(err)
	}
	if !next.Started || next.UpTo <= run.UpTo || next.Rows != 410 {
		t.Errorf("join after the run and a new file: %+v, want a new run of 410 rows past %d", next, run.UpTo)
	}
	if done, open, _ := s.ReportRunState(ctx, jan); done != 0 || open != 2 {
		t.Errorf("new run: %d done, %d open; want 0 and 2", done, open)
	}

	// PublishedVersions gives the latest version of each.
	cells := []ur.Cell{{Set: 0, Subscribers: 5, Events: 1}}
	for v := 1; v <= 2; v++ {
		p := &ur.Publication{Org: orgA, Month: jan, Version: v, MinGroupSize: 5, DominanceP: 85, Format: "report-v2",
			PublishedAt: time.Unix(0, 0), Digest: ur.DigestCells(cells), Cells: cells}
		if err := s.Publish(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := s.PublishedVersions(ctx, jan, []ur.Org{orgA, orgB})
	if err != nil || len(vs) != 1 || vs[orgA] != 2 {
		t.Errorf("published versions: %v, %v; want orgA at 2 only", vs, err)
	}

	// A batch comes from one bucket, however many rows it may take.
	many := genRecords(400, apr)
	for i := range many {
		many[i].Org = ur.Org(100_000_000 + i%40)
	}
	mustIngest(t, s, "forty", many)
	if _, err := s.JoinReportRun(ctx, apr, "k=5", noLate); err != nil {
		t.Fatal(err)
	}
	b, err := s.ClaimReportBatch(ctx, apr, "hb", time.Minute, 1_000_000)
	batch := b.Claims
	if err != nil || len(batch) < 1 || !b.Whole {
		t.Fatalf("claim: %+v, %v; want a whole bucket", b, err)
	}
	var inBatch, all int
	if err := conn.QueryRow(ctx, `SELECT count(DISTINCT part) FILTER (WHERE holder = 'hb'), count(DISTINCT part)
		FROM report_claims WHERE month = $1`, int32(apr)).Scan(&inBatch, &all); err != nil {
		t.Fatal(err)
	}
	if inBatch != 1 || all < 2 || len(batch) == 40 {
		t.Errorf("a batch of %d organisations from %d buckets, of %d in all; want one bucket, not all", len(batch), inBatch, all)
	}
}

func queryInt(t *testing.T, conn *pgx.Conn, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestReportBatchesReadEachRowOnce: workers that take a month's batches
// until none is left read every row of the month once, as the server
// counts its reads of the buckets (pg_stat_user_tables): a batch is a
// whole bucket, read in one sequential pass, with no index. A bucket cut
// into several batches (too large for one) gives each organisation's rows
// once too, and no other's.
func TestReportBatchesReadEachRowOnce(t *testing.T) {
	ctx := context.Background()
	s, url := mustOpen(t)
	may, jun := ur.MonthOf(2026, 5), ur.MonthOf(2026, 6)
	const nOrgs, perMonth = 40, 4000
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// June is made as before the buckets: one table, which the ingest
	// finds and fills.
	june := pgx.Identifier{partitionName(jun)}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE TABLE "+june+" (LIKE records INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER TABLE records ATTACH PARTITION %s FOR VALUES IN (%d)", june, int32(jun))); err != nil {
		t.Fatal(err)
	}
	var recs []ur.Record
	for _, m := range []ur.Month{apr, may, jun} {
		rs := genRecords(perMonth, m)
		for i := range rs {
			k := i % (nOrgs + 10) // ten organisations with twice the rows of the others
			if k >= nOrgs {
				k -= nOrgs
			}
			rs[i].Org = ur.Org(100_000_000 + k)
		}
		recs = append(recs, rs...)
	}
	mustIngest(t, s, "three months", recs)
	// What the server has read of a month's buckets so far: rows by
	// sequential scans, rows fetched through an index, index scans.
	reads := func(m ur.Month) (seq, idx int64) {
		t.Helper()
		// Every connection of the store's pool sends its pending counts.
		for _, c := range s.pool.AcquireAllIdle(ctx) {
			_, err := c.Exec(ctx, "SELECT pg_stat_force_next_flush()")
			c.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		var n int64
		if err := conn.QueryRow(ctx, `SELECT coalesce(sum(seq_tup_read), 0)::bigint, coalesce(sum(idx_tup_fetch), 0)::bigint, coalesce(sum(idx_scan), 0)::bigint
			FROM pg_stat_user_tables WHERE relname LIKE $1`, partitionName(m)+"_h%").Scan(&seq, &idx, &n); err != nil {
			t.Fatal(err)
		}
		return seq, idx + n
	}

	for _, tc := range []struct {
		name    string
		m       ur.Month
		maxRows int64
	}{
		{"whole buckets", apr, perMonth},
		{"one organisation a batch", may, 1},
		{"a month made before the buckets", jun, perMonth / 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := s.JoinReportRun(ctx, tc.m, "k=5", noLate)
			if err != nil || run.Rows != perMonth {
				t.Fatalf("join: %+v, %v; want %d rows", run, err, perMonth)
			}
			seq0, idx0 := reads(tc.m)
			perOrg := map[ur.Org]int64{}
			var batches, whole int
			for {
				b, err := s.ClaimReportBatch(ctx, tc.m, "w", time.Minute, tc.maxRows)
				if err != nil {
					t.Fatal(err)
				}
				if len(b.Claims) == 0 {
					break
				}
				batches++
				if b.Whole {
					whole++
				}
				in := map[ur.Org]bool{}
				var orgs []ur.Org
				for _, c := range b.Claims {
					in[c.Org] = true
					orgs = append(orgs, c.Org)
				}
				err = s.ScanReportBatch(ctx, tc.m, b, orgs, run.UpTo, func(r *ur.Record) error {
					if !in[r.Org] {
						t.Errorf("batch %d (%s) read a record of %v, not of the batch", batches, b.Part, r.Org)
					}
					perOrg[r.Org]++
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range b.Claims {
					if _, err := s.FinishReportClaim(ctx, tc.m, c.Org, "w", "published"); err != nil {
						t.Fatal(err)
					}
				}
			}
			var claims []ReportClaim
			rows, err := conn.Query(ctx, "SELECT org, rows FROM report_claims WHERE month = $1", int32(tc.m))
			if err != nil {
				t.Fatal(err)
			}
			var org int32
			var n int64
			if _, err := pgx.ForEachRow(rows, []any{&org, &n}, func() error {
				claims = append(claims, ReportClaim{Org: ur.Org(org), Rows: n})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(claims) != nOrgs || len(perOrg) != nOrgs {
				t.Errorf("%d claims, %d organisations read; want %d", len(claims), len(perOrg), nOrgs)
			}
			for _, c := range claims {
				if perOrg[c.Org] != c.Rows {
					t.Errorf("%v: %d rows read, want %d", c.Org, perOrg[c.Org], c.Rows)
				}
			}
			parts := queryInt(t, conn, "SELECT count(DISTINCT part) FROM report_claims WHERE month = $1", int32(tc.m))
			seq, idx := reads(tc.m)
			t.Logf("%d batches (%d whole) of %d tables (buckets); the server read %d rows sequentially, %d through an index", batches, whole, parts, seq-seq0, idx-idx0)
			switch {
			case tc.m == jun:
				// One table, cut into batches read through its index.
				if parts != 1 || batches < 4 || whole != 0 {
					t.Errorf("%d batches, %d of them whole, of %d tables; want 4 or more, none whole, of one", batches, whole, parts)
				}
				if n := queryInt(t, conn, "SELECT count(*) FROM pg_indexes WHERE tablename = $1", partitionName(jun)); n != 1 {
					t.Errorf("%d indexes on June's table, want its index on org", n)
				}
			case tc.maxRows == perMonth:
				// Every bucket whole, once: each row read once.
				if batches != int(parts) || whole != batches {
					t.Errorf("%d batches, %d of them whole, for %d buckets; want one whole batch a bucket", batches, whole, parts)
				}
				if seq-seq0 != perMonth || idx != idx0 {
					t.Errorf("the server read %d rows sequentially and %d through an index, want %d and 0", seq-seq0, idx-idx0, perMonth)
				}
			default:
				// A batch per organisation: a bucket of one organisation
				// is still whole.
				if batches != nOrgs || whole == batches {
					t.Errorf("%d batches, %d of them whole; want %d, not all whole", batches, whole, nOrgs)
				}
			}
		})
	}
}
