package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ur "usagereport"
	"usagereport/fixtures"
	"usagereport/internal/pgtest"
)

// cellKey is a report cell: organisation, month (epoch day) and the three
// dimensions, "" for all.
type cellKey struct {
	org        string
	month      int32
	cc, svc, z string
}

type cellSums struct {
	subs                     map[string]bool
	events, dur, vol, charge int64
}

// oracleCells sums the good rows of a generated export by every cell they
// count in, reading each row with encoding/csv and the value rules of
// usage-csv-v1 written out here, independently of package ingest. A row in
// broken is not good.
func oracleCells(t *testing.T, data []byte, broken map[int]int) (map[cellKey]*cellSums, int) {
	t.Helper()
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	head := strings.Split(lines[0], ",")
	at := map[string]int{}
	for i, h := range head {
		at[h] = i
	}
	cells := map[cellKey]*cellSums{}
	good := 0
	for i, line := range lines[1:] {
		if _, bad := broken[i]; bad {
			continue
		}
		cr := csv.NewReader(strings.NewReader(line))
		cr.FieldsPerRecord = len(head)
		f, err := cr.Read()
		if err != nil {
			continue
		}
		v := func(name string) string { return strings.TrimSpace(f[at[name]]) }
		org, err := ur.ParseOrgString(v("org_number"))
		if err != nil {
			continue
		}
		sub := v("subscriber")
		if len(sub) < 9 || len(sub) > 16 || sub[0] != '+' || sub[1] == '0' || strings.Trim(sub[1:], "0123456789") != "" {
			continue
		}
		cc := v("cost_centre")
		if !utf8.ValidString(cc) || utf8.RuneCountInString(cc) > 64 {
			continue
		}
		if cc == "" {
			cc = ur.Unassigned
		}
		start, err := time.Parse(time.RFC3339, v("start_time"))
		if err != nil {
			continue
		}
		svc, ok := ur.ParseService([]byte(v("service")))
		if !ok {
			continue
		}
		count := func(s string) (int64, bool) {
			if s == "" {
				return 0, true
			}
			if strings.Trim(s, "0123456789") != "" || len(s) > 18 {
				return 0, false
			}
			n, err := strconv.ParseInt(s, 10, 64)
			return n, err == nil
		}
		dur, ok1 := count(v("duration_s"))
		vol, ok2 := count(v("volume_bytes"))
		zone, ok3 := ur.ZoneOf([]byte(v("country")))
		charge, err := ur.ParseAmount([]byte(v("charge")))
		if !ok1 || !ok2 || !ok3 || err != nil || v("org_number") == "" || v("charge") == "" {
			continue
		}
		good++
		local := start.In(oslo)
		month := ur.MonthOf(local.Year(), local.Month()).EpochDay()
		for _, c := range []string{"", cc} {
			for _, s := range []string{"", svc.String()} {
				for _, z := range []string{"", zone.String()} {
					k := cellKey{org.String(), month, c, s, z}
					cs := cells[k]
					if cs == nil {
						cs = &cellSums{subs: map[string]bool{}}
						cells[k] = cs
					}
					cs.subs[sub] = true
					cs.events++
					cs.dur += dur
					cs.vol += vol
					cs.charge += int64(charge)
				}
			}
		}
	}
	return cells, good
}

// orAll is a report dimension, "" for all.
func orAll(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestBrokenRowsOfEveryKind generates 400,000 rows with 1% of them broken,
// every kind of bad value and every kind of bad quoting among them, and 400
// good rows with a quoted line end: every row is stored or rejected, the
// summary adds up to the rows written, every published cell of every
// report is the sum of the good rows, and no dropped value comes out.
func TestBrokenRowsOfEveryKind(t *testing.T) {
	if testing.Short() {
		t.Skip("400,000 rows")
	}
	const rows = 400_000
	var gen bytes.Buffer
	// 1% broken: 2,400 bad values (12 kinds) and 1,600 bad quoting (5 kinds).
	if err := fixtures.Generate(context.Background(), &gen, fixtures.Config{Rows: rows, Seed: 14, BadRows: 2400}); err != nil {
		t.Fatal(err)
	}
	data, broken, err := fixtures.BreakQuoting(gen.Bytes(), 1600, 400, 14)
	if err != nil {
		t.Fatal(err)
	}
	if len(broken.MultiLine) != 400 {
		t.Fatalf("%d rows with a line end, want 400", len(broken.MultiLine))
	}
	cells, good := oracleCells(t, gen.Bytes(), broken.Fault)
	if good > rows-3000 || good < rows-4000 {
		t.Fatalf("the oracle finds %d good rows of %d: the generator changed?", good, rows)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "export.csv")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	stores := map[string]string{"embedded": filepath.Join(dir, "store")}
	if !testing.Short() {
		stores["postgres"] = pgtest.Database(t, postgresServer(t))
	}
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			var printed strings.Builder
			r := mustRun(t, "ingest", "--store", store, file)
			printed.WriteString(r.stdout + r.stderr)
			want := fmt.Sprintf("export.csv: %d rows stored, %d rejected, of %d rows read", good, rows-good, rows)
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("ingest said:\n%s\nwant %q", r.stdout, want)
			}
			out := filepath.Join(dir, "out-"+name)
			for _, m := range []string{"2026-10", "2026-11"} {
				r := mustRun(t, "report", "--store", store, "--month", m, "--out", out, "--format", "parquet")
				printed.WriteString(r.stdout + r.stderr)
			}
			reports, _ := filepath.Glob(filepath.Join(out, "*", "*.parquet"))
			if len(reports) < 8 {
				t.Fatalf("%d reports", len(reports))
			}
			published := 0
			for _, path := range reports {
				for _, row := range readReport(t, path).Rows {
					k := cellKey{row.OrgNumber, row.Month, orAll(row.CostCentre), orAll(row.Service), orAll(row.RoamingZone)}
					want := cells[k]
					if row.Suppressed {
						continue
					}
					published++
					if want == nil {
						t.Errorf("%s: cell %+v is in the report, not in the good rows", filepath.Base(path), k)
						continue
					}
					got := [5]int64{*row.Subscribers, *row.Events, *row.DurationS, *row.VolumeBytes, *row.Charge}
					exp := [5]int64{int64(len(want.subs)), want.events, want.dur, want.vol, want.charge}
					if got != exp {
						t.Errorf("%s: cell %+v: got subscribers, events, seconds, bytes, charge %v, the good rows sum to %v", filepath.Base(path), k, got, exp)
					}
				}
			}
			t.Logf("%d good rows of %d, %d published cells compared", good, rows, published)
			if published < 100 {
				t.Errorf("only %d published cells compared", published)
			}
			// Nothing dropped comes out: the names written into the
			// broken rows, and the numbers of the rows with a quote in
			// the subscriber, in no store byte and nothing printed.
			everything := readAllFiles(t, dir)
			everything["printed"] = []byte(printed.String())
			for path, b := range everything {
				if path == "export.csv" || strings.HasSuffix(path, "/export.csv") {
					continue
				}
				for _, secret := range []string{fixtures.QuoteCanary} {
					if bytes.Contains(b, []byte(secret)) {
						t.Errorf("%s holds %q, a dropped value", path, secret)
					}
				}
			}
		})
	}
}
