package postgres

import (
	"context"
	"errors"
	"strings"
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

	// The partition is pruned and its index on org used.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := conn.Query(ctx, "EXPLAIN SELECT * FROM records WHERE month = $1 AND org = ANY($2)", int32(jan), []int32{int32(orgA)})
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		rows.Scan(&line)
		plan.WriteString(line + "\n")
	}
	// One bucket of January, through its index on org.
	if p := plan.String(); strings.Count(p, " on records_2026_01_h") != 1 || !strings.Contains(p, "_org") || strings.Contains(p, "records_2026_02") {
		t.Errorf("the plan of a worker's read does not prune to one bucket of January's partition and use its org index:\n%s", p)
	}

	// Two workers claiming at once take one organisation each, never the
	// same; a third finds every claim held.
	var wg sync.WaitGroup
	got := make([][]ReportClaim, 2)
	for i, h := range []string{"h1", "h2"} {
		wg.Go(func() {
			c, err := s.ClaimReportOrgs(ctx, jan, h, time.Minute, 1)
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		})
	}
	wg.Wait()
	if len(got[0]) != 1 || len(got[1]) != 1 || got[0][0].Org == got[1][0].Org {
		t.Fatalf("concurrent claims: %+v, want one organisation each, different", got)
	}
	if c, err := s.ClaimReportOrgs(ctx, jan, "h3", time.Minute, 1000); err != nil || len(c) != 0 {
		t.Fatalf("claim with every lease held: %+v, %v", c, err)
	}
	if n, err := s.RenewReportClaims(ctx, jan, "h2", time.Minute); err != nil || n != 1 {
		t.Errorf("renew: %d, %v; want 1", n, err)
	}

	// h1 dies: once its lease has run out (set in the past here, as the
	// server's clock would), h3 takes its organisation.
	if _, err := conn.Exec(ctx, "UPDATE report_claims SET lease_until = now() - interval '1 second' WHERE holder = 'h1'"); err != nil {
		t.Fatal(err)
	}
	taken, err := s.ClaimReportOrgs(ctx, jan, "h3", time.Minute, 1000)
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
	rest, err := s.ClaimReportOrgs(ctx, jan, "h3", time.Minute, 1000)
	if err != nil || len(rest) != 1 || rest[0].Org != got[1][0].Org {
		t.Fatalf("claim after h2 released: %+v, %v", rest, err)
	}

	// A worker reads its organisations' rows only, of the run's files.
	mustIngest(t, s, "two", genRecords(10, jan))
	var n int
	err = s.ScanMonthOrgsSeq(ctx, jan, []ur.Org{orgA}, run.UpTo, func(r *ur.Record) error {
		if r.Org != orgA || r.Month != jan {
			t.Errorf("read a record of %v %v", r.Org, r.Month)
		}
		n++
		return nil
	})
	if err != nil || n != 200 {
		t.Errorf("scan of orgA up to the run: %d records, %v; want 200", n, err)
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
	batch, err := s.ClaimReportOrgs(ctx, apr, "hb", time.Minute, 1_000_000)
	if err != nil || len(batch) < 1 {
		t.Fatalf("claim: %v, %v", batch, err)
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
