package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	ur "usagereport"
	"usagereport/export"
	"usagereport/internal/golden"
)

// TestSamplesGolden runs the README's job on the shipped samples and
// compares what ingest prints and every report's cells, schema and metadata
// with the golden files (go test -update rewrites them).
func TestSamplesGolden(t *testing.T) {
	samples, err := filepath.Glob("../../fixtures/sample/*")
	if err != nil || len(samples) < 3 {
		t.Fatalf("samples: %v %v", samples, err)
	}
	dir := t.TempDir()
	store, out := filepath.Join(dir, "store"), filepath.Join(dir, "out")
	r := mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
	golden.Compare(t, "testdata/samples/ingest.txt", r.stdout)
	var reports strings.Builder
	for _, m := range []string{"2026-10", "2026-11"} {
		r := mustRun(t, "report", "--store", store, "--month", m, "--out", out)
		reports.WriteString(strings.ReplaceAll(r.stdout, out, "OUT"))
	}
	golden.Compare(t, "testdata/samples/report.txt", reports.String())
	files, _ := filepath.Glob(filepath.Join(out, "*", "*.parquet"))
	if len(files) == 0 {
		t.Fatal("no reports written")
	}
	var names []string
	for _, f := range files {
		name := filepath.Base(f)
		names = append(names, name)
		golden.Compare(t, "testdata/samples/"+strings.TrimSuffix(name, ".parquet")+".txt", dumpParquet(t, f))
	}
	golden.Compare(t, "testdata/samples/files.txt", strings.Join(names, "\n")+"\n")
}

// dumpParquet writes a report as text: schema, metadata, then a row a line.
func dumpParquet(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := export.ReadParquet(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "%s\n", f.Schema())
	var keys []string
	for k := range rep.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&s, "%s = %s\n", k, rep.Metadata[k])
	}
	s.WriteString("org_number|month|grouping|cost_centre|service|roaming_zone|subscribers|events|duration_s|volume_bytes|charge|suppressed\n")
	for _, r := range rep.Rows {
		charge := "null"
		if r.Charge != nil {
			charge = ur.Amount(*r.Charge).String()
		}
		fmt.Fprintf(&s, "%s|%d|%s|%s|%s|%s|%s|%s|%s|%s|%s|%v\n", r.OrgNumber, r.Month, r.Grouping,
			str(r.CostCentre), str(r.Service), str(r.RoamingZone),
			num(r.Subscribers), num(r.Events), num(r.DurationS), num(r.VolumeBytes), charge, r.Suppressed)
	}
	return s.String()
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func num(p *int64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}
