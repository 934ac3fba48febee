package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	ur "usagereport"
	"usagereport/fixtures"
	"usagereport/internal/pgtest"
)

// oracleKey is a report cell: organisation, month (epoch day) and the three
// dimensions, "" for all.
type oracleKey struct {
	org        string
	month      int32
	cc, svc, z string
}

type oracleSums struct {
	subs                     map[string]bool
	events, dur, vol, charge int64
}

// oracleCells sums the good rows of a generated export by every cell they
// count in, reading each row with encoding/csv and the value rules of
// usage-csv-v1 written out here, independently of package ingest. A row in
// broken is not good.
func oracleCells(t *testing.T, data []byte, broken map[int]int) (map[oracleKey]*oracleSums, int) {
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
	cells := map[oracleKey]*oracleSums{}
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
					k := oracleKey{org.String(), month, c, s, z}
					cs := cells[k]
					if cs == nil {
						cs = &oracleSums{subs: map[string]bool{}}
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
					k := oracleKey{row.OrgNumber, row.Month, orAll(row.CostCentre), orAll(row.Service), orAll(row.RoamingZone)}
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

// TestIngestRefusesSpecialFiles: a FIFO without a writer is refused by
// name at once instead of hanging in open, unless --allow-special.
func TestIngestRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "export.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	good := writeFile(t, dir, "good.csv", "org_number,subscriber,start_time,service,charge\n974760673,+4791234567,2026-10-03T14:22:05+02:00,voice,1.25\n")
	done := make(chan result, 1)
	go func() { done <- run(t, nil, "ingest", "--store", filepath.Join(dir, "store"), fifo, good) }()
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("ingest of a FIFO without a writer hangs")
	}
	if r.code != ExitFailure || !strings.Contains(r.stderr, "export.fifo: file refused: not a regular file") || !strings.Contains(r.stderr, "--allow-special") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 naming the FIFO", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "good.csv: 1 row stored") {
		t.Errorf("the regular file beside it was not ingested:\n%s", r.stdout)
	}
	if r := run(t, nil, "ingest", "--store", filepath.Join(dir, "store"), dir); r.code != ExitFailure || !strings.Contains(r.stderr, "a directory") {
		t.Errorf("a directory: exit %d, %s", r.code, r.stderr)
	}

	// With --allow-special, the FIFO is read from its writer.
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.WriteString("org_number,subscriber,start_time,service,charge\n974760673,+4791234567,2026-10-04T14:22:05+02:00,voice,2.50\n")
		f.Close()
	}()
	r = run(t, nil, "ingest", "--store", filepath.Join(dir, "store"), "--allow-special", fifo)
	if r.code != ExitOK || !strings.Contains(r.stdout, "export.fifo: 1 row stored") {
		t.Errorf("--allow-special: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestIngestGzipRatio: a small gzip of a huge run of blank lines is refused
// by name, and read with the cap raised.
func TestIngestGzipRatio(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("org_number,subscriber,start_time,service,charge\n"))
	zw.Write(bytes.Repeat([]byte("\n"), 48<<20))
	zw.Write([]byte("974760673,+4791234567,2026-10-03T14:22:05+02:00,voice,1.25\n"))
	zw.Close()
	bomb := writeFile(t, dir, "bomb.csv.gz", b.String())
	store := filepath.Join(dir, "store")
	r := run(t, nil, "ingest", "--store", store, bomb)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "bomb.csv.gz: file refused") || !strings.Contains(r.stderr, "--max-gzip-ratio") {
		t.Errorf("exit %d, stderr:\n%s\nwant the file refused for its gzip ratio", r.code, r.stderr)
	}
	r = mustRun(t, "ingest", "--store", store, "--max-gzip-ratio", "0", bomb)
	if !strings.Contains(r.stdout, "bomb.csv.gz: 1 row stored") {
		t.Errorf("without a cap:\n%s", r.stdout)
	}
	if r := run(t, nil, "ingest", "--store", store, "--max-gzip-ratio", "-1", bomb); r.code != ExitUsage {
		t.Errorf("--max-gzip-ratio -1: exit %d", r.code)
	}
}

// TestIngestSameRecordsAgain sends one export's records again with CRLF,
// a BOM, the rows reordered and gzipped, on both stores: each is refused
// as already ingested, naming the first file and its date, and the store
// keeps one file's records.
func TestIngestSameRecordsAgain(t *testing.T) {
	dir := t.TempDir()
	var body strings.Builder
	for i := range 300 {
		fmt.Fprintf(&body, "974760673,+47912%05d,CANARY-B-%d,IT,2026-10-03T14:22:05+02:00,voice,%d,1.25\n", i%40, i, i)
	}
	head := "org_number,subscriber,b_name,cost_centre,start_time,service,duration_s,charge\n"
	lines := strings.Split(strings.TrimSuffix(body.String(), "\n"), "\n")
	slices.Reverse(lines)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(head + body.String()))
	zw.Close()
	first := writeFile(t, dir, "first.csv", head+body.String())
	again := []string{
		writeFile(t, dir, "crlf.csv", strings.ReplaceAll(head+body.String(), "\n", "\r\n")),
		writeFile(t, dir, "bom.csv", "\ufeff"+head+body.String()),
		writeFile(t, dir, "reordered.csv", head+strings.Join(lines, "\n")+"\n"),
		writeFile(t, dir, "first.csv.gz", gz.String()),
	}
	for name, store := range map[string]string{
		"embedded": filepath.Join(dir, "store"),
		"postgres": pgtest.Database(t, postgresServer(t)),
	} {
		t.Run(name, func(t *testing.T) {
			r := mustRun(t, "ingest", "--store", store, first)
			if !strings.Contains(r.stdout, "first.csv: 300 rows stored") {
				t.Fatalf("first:\n%s", r.stdout)
			}
			r = mustRun(t, append([]string{"ingest", "--store", store}, again...)...)
			for _, p := range again {
				want := filepath.Base(p) + ": already ingested as first.csv on " + time.Now().UTC().Format("2006-01-")
				if !strings.Contains(r.stdout, want) {
					t.Errorf("want %q in:\n%s", want, r.stdout)
				}
			}
			if !strings.Contains(r.stdout, "(4 already ingested, 0 refused): 0 rows stored") {
				t.Errorf("summary:\n%s", r.stdout)
			}
			if strings.Contains(r.stdout+r.stderr, "CANARY") {
				t.Errorf("a dropped value came out:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}
