package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"usagereport/internal/pgtest"
)

// TestReportWorkersWithAKill reports a month with several `report
// --worker` processes on one database, one of them killed with SIGKILL in
// the middle of an organisation, and requires what one process reports:
// the same report files, cell for cell, each organisation's record once,
// every claim done, no temporary file left.
func TestReportWorkersWithAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs several report processes against a PostgreSQL cluster")
	}
	server := postgresServer(t)
	dir := t.TempDir()
	input := filepath.Join(dir, "month.csv")
	mustRun(t, "generate", "--out", input, "--rows", "30000", "--orgs", "14", "--seed", "21", "--first-month", "2026-10")
	secrets := subscriberNumbers(t, input, 50)

	// The reference: one process, as before.
	ref := pgtest.Database(t, server)
	mustRun(t, "ingest", "--store", ref, input)
	refOut := filepath.Join(dir, "ref")
	mustRun(t, "report", "--store", ref, "--month", "2026-10", "--out", refOut, "--format", "parquet")
	refFiles, _ := filepath.Glob(filepath.Join(refOut, "*", "*.parquet"))
	if len(refFiles) < 6 {
		t.Fatalf("the reference run wrote %d reports, want several", len(refFiles))
	}

	for _, tc := range []struct {
		name    string
		workers int
		stall   string // where the killed worker stops: envTestStall
	}{
		{"two workers, one killed before its record", 2, "files"},
		{"three workers, one killed after its record", 3, "record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := pgtest.Database(t, server)
			mustRun(t, "ingest", "--store", db, input)
			out := filepath.Join(dir, "out-"+tc.stall)
			args := []string{"report", "--store", db, "--month", "2026-10", "--out", out, "--format", "parquet", "--worker", "--lease", "2s"}

			// One goroutine of cubes: it stops at its first organisation.
			victim := workerProcess(t, args, envTestStall+"="+tc.stall, "GOMAXPROCS=1")
			waitFor(t, "the victim to stall at "+tc.stall, func() bool {
				if tc.stall == "files" {
					tmps, _ := filepath.Glob(filepath.Join(out, "*", ".*.tmp"))
					return len(tmps) > 0
				}
				return countRows(t, db, "SELECT count(*) FROM publications") > 0
			})
			var others []*workerProc
			for range tc.workers - 1 {
				others = append(others, workerProcess(t, args))
			}
			victim.cmd.Process.Signal(syscall.SIGKILL)
			if err := victim.cmd.Wait(); err == nil {
				t.Fatal("the victim finished before the kill; the test proves nothing")
			}
			var published, fromRecord int
			for i, w := range others {
				if err := w.cmd.Wait(); err != nil {
					t.Fatalf("worker %d: %v\nstdout:\n%s\nstderr:\n%s", i, err, w.stdout.String(), w.stderr.String())
				}
				so := w.stdout.String()
				t.Logf("worker %d:\n%s", i, so)
				if !strings.Contains(so, "0 outstanding") {
					t.Errorf("worker %d's last line does not say the month is done:\n%s", i, so)
				}
				published += strings.Count(so, "hidden (")
				fromRecord += strings.Count(so, "written from the record\n")
				for _, s := range secrets {
					if strings.Contains(so, s) || strings.Contains(w.stderr.String(), s) {
						t.Fatalf("worker %d printed a subscriber number", i)
					}
				}
			}

			// Each organisation's record once, version 1.
			if n, want := countRows(t, db, "SELECT count(*) FROM publications"), len(refFiles); n != want {
				t.Errorf("%d publication records, want %d (one per report)", n, want)
			}
			if n := countRows(t, db, "SELECT count(*) FROM publications WHERE version <> 1"); n != 0 {
				t.Errorf("%d records of a version other than 1", n)
			}
			if n := countRows(t, db, "SELECT count(*) FROM report_claims WHERE state <> 'done'"); n != 0 {
				t.Errorf("%d claims not done", n)
			}
			// The survivors account for every report: the victim's
			// organisation was computed again (killed before its record) or
			// written from its record (killed after).
			wantFromRecord := 0
			if tc.stall == "record" {
				wantFromRecord = 1
			}
			if published+fromRecord != len(refFiles) || fromRecord != wantFromRecord {
				t.Errorf("the survivors published %d and wrote %d from records, want %d and %d",
					published, fromRecord, len(refFiles)-wantFromRecord, wantFromRecord)
			}
			if n := countRows(t, db, "SELECT count(*) FROM report_claims WHERE outcome = 'from-record'"); n != wantFromRecord {
				t.Errorf("%d claims done from a record, want %d", n, wantFromRecord)
			}
			if tmps, _ := filepath.Glob(filepath.Join(out, "*", ".*.tmp")); len(tmps) != 0 {
				t.Errorf("temporary files left: %v", tmps)
			}

			// The union of the outputs is the single run's, cell for cell.
			got, _ := filepath.Glob(filepath.Join(out, "*", "*.parquet"))
			if len(got) != len(refFiles) {
				t.Errorf("workers wrote %d reports, one process %d", len(got), len(refFiles))
			}
			for _, f := range refFiles {
				rel, _ := filepath.Rel(refOut, f)
				if _, err := os.Stat(filepath.Join(out, rel)); err != nil {
					t.Errorf("%s: %v", rel, err)
					continue
				}
				if diff := cmp.Diff(readReport(t, f).Rows, readReport(t, filepath.Join(out, rel)).Rows); diff != "" {
					t.Errorf("%s: cells (-one process +workers):\n%s", rel, diff)
				}
			}

			// A worker started after the month is done finds nothing to do.
			r := mustRun(t, args...)
			if !strings.Contains(r.stdout, "0 organisations: 0 published") || !strings.Contains(r.stdout, "0 outstanding") {
				t.Errorf("a late worker:\n%s", r.stdout)
			}
		})
	}
}

type workerProc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

// workerProcess starts the program as a process with args.
func workerProcess(t *testing.T, args []string, env ...string) *workerProc {
	t.Helper()
	w := &workerProc{cmd: exec.Command(os.Args[0], args...)}
	w.cmd.Env = append(append(os.Environ(), envRunMain+"=1", envKey+"="+testKey), env...)
	w.cmd.Stdout, w.cmd.Stderr = &w.stdout, &w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			w.cmd.Process.Kill()
			w.cmd.Wait()
		}
	})
	return w
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countRows(t *testing.T, url, query string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// subscriberNumbers returns up to n subscriber numbers of a CSV export.
func subscriberNumbers(t *testing.T, path string, n int) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs[1:] {
		if len(out) == n {
			break
		}
		if s := strings.TrimPrefix(r[1], "+47"); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// TestReportWorkerRefusals: --worker is for the whole month of a
// PostgreSQL store.
func TestReportWorkerRefusals(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	mustRun(t, "ingest", "--store", store, "../../fixtures/sample/operator-a-2026-10.csv")
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"embedded store", []string{"--worker"}, "--worker needs a PostgreSQL store"},
		{"one organisation", []string{"--worker", "--org", "927489058"}, "--worker reports the whole month"},
		{"a lease too short", []string{"--worker", "--lease", "10ms"}, "a --lease of at least 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"report", "--store", store, "--month", "2026-10", "--out", out}, tc.args...)...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", r.code, r.stderr, ExitUsage, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a refused worker wrote %d entries", len(entries))
	}
}

// TestReportWorkersLateRecords: workers count late records as one process
// does, and a run after new files writes the published organisations from
// their records.
func TestReportWorkersLateRecords(t *testing.T) {
	server := postgresServer(t)
	dir := t.TempDir()
	samples, err := filepath.Glob("../../fixtures/sample/operator-[ab]-*")
	if err != nil || len(samples) != 2 {
		t.Fatalf("samples: %v %v", samples, err)
	}
	late := lateFile(t, dir, "late.csv", 4)
	stores := map[string]string{"one": pgtest.Database(t, server), "workers": pgtest.Database(t, server)}
	outs := map[string]string{"one": filepath.Join(dir, "one"), "workers": filepath.Join(dir, "workers")}
	report := func(name, month string) result {
		args := []string{"report", "--store", stores[name], "--month", month, "--out", outs[name], "--format", "parquet"}
		if name == "workers" {
			args = append(args, "--worker", "--lease", "2s")
		}
		return mustRun(t, args...)
	}
	for name, spec := range stores {
		mustRun(t, append([]string{"ingest", "--store", spec}, samples...)...)
		report(name, "2026-10")
		mustRun(t, "ingest", "--store", spec, late)
	}
	r := report("workers", "2026-11")
	if !strings.Contains(r.stdout, lateOrg+" 2026-11: includes 4 events from earlier months") {
		t.Errorf("November by a worker does not count the late records:\n%s", r.stdout)
	}
	report("one", "2026-11")
	// October again after the late file: a new run, every organisation
	// written from its record.
	r = report("workers", "2026-10")
	if n := strings.Count(r.stdout, "written from the record\n"); n == 0 || strings.Contains(r.stdout, "hidden (") {
		t.Errorf("October again by a worker: %d written from records, want all:\n%s", n, r.stdout)
	}
	// A month without records is refused as one process refuses it.
	r = run(t, nil, "report", "--store", stores["workers"], "--month", "2027-05", "--out", outs["workers"], "--worker")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "no records of 2027-05") {
		t.Errorf("a worker on a month without records: exit %d\n%s", r.code, r.stderr)
	}
	want, _ := filepath.Glob(filepath.Join(outs["one"], "*", "*.parquet"))
	got, _ := filepath.Glob(filepath.Join(outs["workers"], "*", "*.parquet"))
	if len(want) < 4 || len(got) != len(want) {
		t.Fatalf("one process wrote %d reports, the workers %d", len(want), len(got))
	}
	for _, f := range want {
		rel, _ := filepath.Rel(outs["one"], f)
		if diff := cmp.Diff(readReport(t, f).Rows, readReport(t, filepath.Join(outs["workers"], rel)).Rows); diff != "" {
			t.Errorf("%s: cells (-one process +workers):\n%s", rel, diff)
		}
	}
}

// TestReportWorkerOneOrganisationFails: a worker whose organisation's cube
// cannot be made names it, writes the others, finishes the claim as
// failed and exits 1 at the end, as a run of one process does.
func TestReportWorkerOneOrganisationFails(t *testing.T) {
	server := postgresServer(t)
	dir := t.TempDir()
	csv := writeFile(t, dir, "two.csv", oneFailingOrg())
	spec, out := pgtest.Database(t, server), filepath.Join(dir, "out")
	mustRun(t, "ingest", "--store", spec, csv)
	r := run(t, nil, "report", "--store", spec, "--month", "2026-10", "--out", out, "--worker", "--lease", "2s")
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, ExitFailure, r.stdout, r.stderr)
	}
	checkOneFailingOrg(t, out, r)
	for _, want := range []string{
		"1 published, 0 written from the record, 0 withheld, 1 failed",
		"2026-10: 2 of 2 organisations done, 0 outstanding",
		"no report for 1 organisation: " + bad,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "level=WARN") || !strings.Contains(r.stderr, "org="+bad) {
		t.Errorf("no warning naming the organisation:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "1 organisation failed") {
		t.Errorf("the error does not say an organisation failed:\n%s", r.stderr)
	}
}
