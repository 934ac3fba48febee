package postgres

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	ur "usagereport"
)

// TestClaimsFromFileCounts: a run's claims, made from the counts each
// file's commit wrote, hold the same organisations, rows and tables as a
// GROUP BY over the month's records: over several files, organisations in
// every bucket, a forgotten organisation, a month made before the buckets,
// and counts made by migration 0700 from records stored before it.
func TestClaimsFromFileCounts(t *testing.T) {
	ctx := context.Background()
	s, url := mustOpen(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	may, jun := ur.MonthOf(2026, 5), ur.MonthOf(2026, 6)
	june := pgx.Identifier{partitionName(jun)}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE TABLE "+june+" (LIKE records INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "ALTER TABLE records ATTACH PARTITION "+june+" FOR VALUES IN ("+itoa(int32(jun))+")"); err != nil {
		t.Fatal(err)
	}
	// Three files over two months, 97 organisations (every bucket), each
	// file with its own share of them and rows in runs and scattered.
	for f, n := range []int{3000, 1, 2500} {
		recs := genRecords(n, may, jun)
		for i := range recs {
			k := (i*7 + f*13) % 97
			if f == 2 {
				k = i / 40 % 97 // runs of one organisation
			}
			recs[i].Org = ur.Org(200_000_000 + k*1_000_003)
		}
		mustIngest(t, s, "file "+itoa(int32(f)), recs)
	}
	forgotten := ur.Org(200_000_000 + 5*1_000_003)
	if n, err := s.DeleteOrg(ctx, forgotten); err != nil || n == 0 {
		t.Fatalf("forget %v: %d rows, %v", forgotten, n, err)
	}

	check := func(t *testing.T, m ur.Month) {
		t.Helper()
		if _, err := conn.Exec(ctx, "DELETE FROM report_runs; DELETE FROM report_claims"); err != nil {
			t.Fatal(err)
		}
		run, err := s.JoinReportRun(ctx, m, "k=5", noLate)
		if err != nil {
			t.Fatal(err)
		}
		want := claimRows(t, conn, "SELECT org, count(*), tableoid::regclass::text FROM records WHERE month = $1 GROUP BY org, tableoid", m)
		got := claimRows(t, conn, "SELECT org, rows, part FROM report_claims WHERE month = $1", m)
		if len(want) < 90 {
			t.Fatalf("%s: %d organisations with records, want at least 90", m, len(want))
		}
		if _, ok := got[forgotten]; ok {
			t.Errorf("%s: the forgotten organisation has a claim", m)
		}
		var rows int64
		for org, w := range want {
			rows += w.rows
			if got[org] != w {
				t.Errorf("%s: organisation %v: claim %+v, want %+v", m, org, got[org], w)
			}
		}
		if len(got) != len(want) || run.Orgs != len(want) || run.Rows != rows {
			t.Errorf("%s: %d claims (run: %d organisations, %d rows), want %d and %d rows", m, len(got), run.Orgs, run.Rows, len(want), rows)
		}
	}
	t.Run("counted at commit", func(t *testing.T) {
		check(t, may)
		check(t, jun)
	})
	t.Run("counted by the migration", func(t *testing.T) {
		b, err := migrationFiles.ReadFile("migrations/0700_file_org_rows.sql")
		if err != nil {
			t.Fatal(err)
		}
		_, backfill, ok := strings.Cut(string(b), "-- The records stored before this migration are counted once, here.")
		if !ok {
			t.Fatal("migration 0700 has no backfill")
		}
		if _, err := conn.Exec(ctx, "TRUNCATE file_org_rows"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, backfill); err != nil {
			t.Fatal(err)
		}
		check(t, may)
		check(t, jun)
	})
	t.Run("purged with the month", func(t *testing.T) {
		if _, err := s.DeleteMonthsBefore(ctx, jun); err != nil {
			t.Fatal(err)
		}
		if n := queryInt(t, conn, "SELECT count(*) FROM file_org_rows WHERE month = $1", int32(may)); n != 0 {
			t.Errorf("%d counts of a purged month left", n)
		}
		check(t, jun)
	})
}

type claimRow struct {
	rows int64
	part string
}

func claimRows(t *testing.T, conn *pgx.Conn, query string, m ur.Month) map[ur.Org]claimRow {
	t.Helper()
	rows, err := conn.Query(context.Background(), query, int32(m))
	if err != nil {
		t.Fatal(err)
	}
	out := map[ur.Org]claimRow{}
	for rows.Next() {
		var org int32
		var c claimRow
		if err := rows.Scan(&org, &c.rows, &c.part); err != nil {
			t.Fatal(err)
		}
		out[ur.Org(org)] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }
