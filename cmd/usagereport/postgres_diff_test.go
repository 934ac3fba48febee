package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"usagereport/export"
	"usagereport/internal/pgtest"
)

// postgresServer returns the URL of a PostgreSQL server for this test:
// $USAGEREPORT_TEST_DATABASE_URL, else a throwaway cluster of its own
// (this package's TestMain does not run pgtest.Main). Never skipped.
func postgresServer(t *testing.T) string {
	t.Helper()
	if u := os.Getenv(pgtest.EnvURL); u != "" {
		return u
	}
	return pgtest.NewCluster(t).URL("postgres")
}

// TestPostgresMatchesEmbedded ingests the same files into the embedded
// store and into PostgreSQL, with the same key, reports every month from
// both and requires the same cells in every Parquet report and the same
// words on the terminal.
func TestPostgresMatchesEmbedded(t *testing.T) {
	server := postgresServer(t)
	dir := t.TempDir()
	samples, err := filepath.Glob("../../fixtures/sample/*")
	if err != nil || len(samples) < 3 {
		t.Fatalf("samples: %v %v", samples, err)
	}
	gen := filepath.Join(dir, "generated.csv")
	mustRun(t, "generate", "--out", gen, "--rows", "60000", "--seed", "2", "--first-month", "2026-12")
	inputs := append(samples, gen)

	stores := map[string]string{
		"embedded": filepath.Join(dir, "store"),
		"postgres": pgtest.Database(t, server),
	}
	out := map[string]string{}
	reports := map[string]string{}
	for name, spec := range stores {
		mustRun(t, append([]string{"ingest", "--store", spec}, inputs...)...)
		out[name] = filepath.Join(dir, "out-"+name)
		var sb strings.Builder
		for _, m := range []string{"2026-10", "2026-11", "2026-12", "2027-01"} {
			r := mustRun(t, "report", "--store", spec, "--month", m, "--out", out[name], "--format", "parquet")
			sb.WriteString(strings.ReplaceAll(r.stdout, out[name], "OUT"))
		}
		reports[name] = sb.String()
	}
	if diff := cmp.Diff(reports["embedded"], reports["postgres"]); diff != "" {
		t.Errorf("report output (-embedded +postgres):\n%s", diff)
	}

	files, _ := filepath.Glob(filepath.Join(out["embedded"], "*", "*.parquet"))
	if len(files) < 3 {
		t.Fatalf("embedded store wrote %d reports, want several", len(files))
	}
	pgFiles, _ := filepath.Glob(filepath.Join(out["postgres"], "*", "*.parquet"))
	if len(pgFiles) != len(files) {
		t.Errorf("postgres wrote %d reports, embedded %d", len(pgFiles), len(files))
	}
	for _, f := range files {
		rel, _ := filepath.Rel(out["embedded"], f)
		want := readReport(t, f)
		got := readReport(t, filepath.Join(out["postgres"], rel))
		if diff := cmp.Diff(want.Rows, got.Rows); diff != "" {
			t.Errorf("%s: cells (-embedded +postgres):\n%s", rel, diff)
		}
	}

	// Ingesting everything again into PostgreSQL changes nothing.
	mustRun(t, append([]string{"ingest", "--store", stores["postgres"]}, inputs...)...)
	again := filepath.Join(dir, "out-again")
	mustRun(t, "report", "--store", stores["postgres"], "--month", "2026-10", "--out", again, "--format", "parquet")
	for _, f := range files {
		rel, _ := filepath.Rel(out["embedded"], f)
		if !strings.Contains(rel, "2026-10") {
			continue
		}
		if diff := cmp.Diff(readReport(t, f).Rows, readReport(t, filepath.Join(again, rel)).Rows); diff != "" {
			t.Errorf("%s after a second ingest (-first +second):\n%s", rel, diff)
		}
	}
}

func readReport(t *testing.T, path string) *export.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := export.ReadParquet(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rep
}
