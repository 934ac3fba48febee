package export

import (
	"archive/zip"
	"bytes"
	"html"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/suppress"
)

// TestChartNamesItsServices checks that every bar of the Summary's chart is named by
// its service: the series name, and, with one published service, the category the
// axis shows under the bar too (it showed the column header "Charge (NOK)").
func TestChartNamesItsServices(t *testing.T) {
	tests := []struct {
		name     string
		services []ur.Service
		wantCats []string // what the category axis shows
	}{
		{"one service", []ur.Service{ur.Voice}, []string{"Voice"}},
		{"two services", []ur.Service{ur.Voice, ur.Data}, []string{"Charge (NOK)", "Charge (NOK)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ur.MonthOf(2026, 10)
			b := aggregate.NewBuilder(m)
			for i := range 6 {
				for _, svc := range tt.services {
					r := ur.Record{Org: 974760673, Month: m, Subscriber: ur.Pseudonym{byte(i)}, CostCentre: "Sales",
						Service: svc, DurationS: 60, VolumeBytes: 10, Charge: ur.Amount(10000 + 100*i)}
					if err := b.Add(&r); err != nil {
						t.Fatal(err)
					}
				}
			}
			cubes, _, err := suppress.Cubes(b, suppress.Config{MinGroupSize: 5})
			if err != nil || len(cubes) != 1 {
				t.Fatalf("Cubes: %v, %d", err, len(cubes))
			}
			var buf bytes.Buffer
			if err := WriteXLSX(&buf, &cubes[0].Report, nil, time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			chart := zipPart(t, buf.Bytes(), "xl/charts/chart1.xml")
			f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			value := func(ref string) string {
				ref = html.UnescapeString(ref)
				ref = strings.ReplaceAll(strings.TrimPrefix(ref, "'"+SheetSummary+"'!"), "$", "")
				v, err := f.GetCellValue(SheetSummary, ref)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			names := regexp.MustCompile(`<tx><strRef><f>([^<]*)</f>`).FindAllStringSubmatch(chart, -1)
			cats := regexp.MustCompile(`<cat><strRef><f>([^<]*)</f>`).FindAllStringSubmatch(chart, -1)
			if len(names) != len(tt.services) || len(cats) != len(tt.services) {
				t.Fatalf("%d series names and %d categories, want %d each:\n%s", len(names), len(cats), len(tt.services), chart)
			}
			for i, svc := range tt.services {
				if got, want := value(names[i][1]), serviceLabels[svc]; got != want {
					t.Errorf("series %d is named %q, want %q", i, got, want)
				}
				if got := value(cats[i][1]); got != tt.wantCats[i] {
					t.Errorf("series %d: the axis shows %q, want %q", i, got, tt.wantCats[i])
				}
			}
		})
	}
}

func zipPart(t *testing.T, b []byte, name string) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestChartLinked checks that the Summary sheet shows the chart: its
// drawing element names a relationship of the sheet that leads to the
// drawing, and the drawing's relationships lead to the chart. The chart's
// parts come from a template made once; the sheet is written per workbook.
func TestChartLinked(t *testing.T) {
	c, history := smallCubes(t)
	data := writeXLSX(t, c, history)
	parts := unzipParts(t, data)
	m := regexp.MustCompile(`<drawing r:id="([^"]+)"/>`).FindSubmatch(parts["xl/worksheets/sheet1.xml"])
	if m == nil {
		t.Fatal("Summary sheet has no drawing element")
	}
	rel := regexp.MustCompile(`<Relationship Id="` + regexp.QuoteMeta(string(m[1])) + `" Target="([^"]+)"`).FindSubmatch(parts["xl/worksheets/_rels/sheet1.xml.rels"])
	if rel == nil || string(rel[1]) != "../drawings/drawing1.xml" {
		t.Fatalf("Summary's drawing relationship %s: got %q, want ../drawings/drawing1.xml", m[1], rel)
	}
	if _, ok := parts["xl/drawings/drawing1.xml"]; !ok {
		t.Fatal("no drawing part")
	}
	if !bytes.Contains(parts["xl/drawings/_rels/drawing1.xml.rels"], []byte(`Target="../charts/chart1.xml"`)) {
		t.Errorf("drawing does not lead to the chart: %s", parts["xl/drawings/_rels/drawing1.xml.rels"])
	}
	if _, ok := parts["xl/charts/chart1.xml"]; !ok {
		t.Fatal("no chart part")
	}
}
