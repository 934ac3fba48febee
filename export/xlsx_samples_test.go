package export

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/embedded"
	"usagereport/ingest"
	"usagereport/suppress"
)

// sampleCubes ingests the shipped sample exports and returns every report
// cube of both months, November's with October's as history.
func sampleCubes(t *testing.T) (oct, nov []*ur.Report) {
	t.Helper()
	ctx := context.Background()
	st, err := embedded.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ingest.NewPseudonymizer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := ingest.NewOslo()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../fixtures/sample/*")
	if len(files) < 3 {
		t.Fatalf("samples: %v", files)
	}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ingest.File(ctx, st, f, filepath.Base(path), p, o)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	month := func(m ur.Month) []*ur.Report {
		b := aggregate.NewBuilder(m)
		if err := st.ScanMonthBatches(ctx, m, b.AddBatch); err != nil {
			t.Fatal(err)
		}
		cubes, _, err := suppress.Cubes(b, suppress.Config{MinGroupSize: suppress.DefaultMinGroupSize})
		if err != nil {
			t.Fatal(err)
		}
		return reports(cubes)
	}
	return month(ur.MonthOf(2026, 10)), month(ur.MonthOf(2026, 11))
}

// TestXLSXSamplesMatchParquet reads every workbook of the shipped samples
// back, compares each number with the Parquet cells, and scans every
// unzipped part for a hidden value.
func TestXLSXSamplesMatchParquet(t *testing.T) {
	oct, nov := sampleCubes(t)
	if len(oct) == 0 || len(nov) == 0 {
		t.Fatal("no sample reports")
	}
	history := map[ur.Org][]*ur.Report{}
	for _, c := range oct {
		history[c.Org] = []*ur.Report{c}
	}
	for _, c := range slices.Concat(oct, nov) {
		var h []*ur.Report
		if c.Month == ur.MonthOf(2026, 11) {
			h = history[c.Org]
		}
		t.Run(c.Org.String()+"-"+c.Month.String(), func(t *testing.T) {
			checkAgainstParquet(t, c, h)
			parts := unzipParts(t, writeXLSX(t, c, h))
			for _, tok := range hiddenTokens(t, append(slices.Clone(h), c)...) {
				re := regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(tok) + `($|[^0-9])`)
				for name, part := range parts {
					if re.Match(part) {
						t.Errorf("hidden value %s appears in %s", tok, name)
					}
				}
			}
		})
	}
}
