package export

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/suppress"
)

// testCube builds a cube through the real aggregation: 6 subscribers in
// "Sales", 2 in "IT" (hidden), one credit.
func testCube(t *testing.T) *ur.Report {
	t.Helper()
	m := ur.MonthOf(2026, 10)
	b := aggregate.NewBuilder(m)
	add := func(sub byte, cc string, svc ur.Service, charge ur.Amount) {
		t.Helper()
		r := ur.Record{Org: 974760673, Month: m, Subscriber: ur.Pseudonym{sub}, CostCentre: cc, Service: svc, DurationS: 60, VolumeBytes: 10, Charge: charge}
		if err := b.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		add(byte(i), "Sales", ur.Voice, ur.Amount(10000*(i+1)))
		add(byte(i), "Sales", ur.Data, ur.Amount(5000+1000*i))
	}
	add(10, "IT", ur.Voice, 12345)
	add(11, "IT", ur.Voice, -2500)
	cubes, _, err := suppress.Cubes(b, suppress.Config{MinGroupSize: 5})
	if err != nil || len(cubes) != 1 {
		t.Fatalf("Cubes: %v, %d", err, len(cubes))
	}
	return &cubes[0].Report
}

// TestParquetReadByArrow reads a report with a second implementation,
// arrow-go's Parquet reader, and checks the types and every value.
func TestParquetReadByArrow(t *testing.T) {
	cube := testCube(t)
	var buf bytes.Buffer
	created := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
	if err := WriteParquet(&buf, cube, created); err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	meta := pf.MetaData().KeyValueMetadata()
	for k, want := range map[string]string{MetaMinGroupSize: "5", MetaReportFormat: ReportFormat, MetaCreatedAt: "2026-11-01T06:00:00Z"} {
		if got := meta.FindValue(k); got == nil || *got != want {
			t.Errorf("metadata %s = %v, want %s", k, got, want)
		}
	}
	cc, err := pf.MetaData().RowGroup(0).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	if c := cc.Compression(); c.String() != "ZSTD" {
		t.Errorf("compression %v, want ZSTD", c)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()

	wantTypes := []struct {
		name     string
		typ      arrow.DataType
		nullable bool
	}{
		{"org_number", arrow.BinaryTypes.String, false},
		{"month", arrow.FixedWidthTypes.Date32, false},
		{"grouping", arrow.BinaryTypes.String, false},
		{"cost_centre", arrow.BinaryTypes.String, true},
		{"service", arrow.BinaryTypes.String, true},
		{"roaming_zone", arrow.BinaryTypes.String, true},
		{"subscribers", arrow.PrimitiveTypes.Int64, true},
		{"events", arrow.PrimitiveTypes.Int64, true},
		{"duration_s", arrow.PrimitiveTypes.Int64, true},
		{"volume_bytes", arrow.PrimitiveTypes.Int64, true},
		{"charge", &arrow.Decimal128Type{Precision: 18, Scale: 4}, true},
		{"suppressed", arrow.FixedWidthTypes.Boolean, false},
	}
	sc := tbl.Schema()
	if sc.NumFields() != len(wantTypes) {
		t.Fatalf("schema %v", sc)
	}
	for i, w := range wantTypes {
		f := sc.Field(i)
		if f.Name != w.name || !arrow.TypeEqual(f.Type, w.typ) || f.Nullable != w.nullable {
			t.Errorf("field %d: got %s %v nullable=%v, want %s %v nullable=%v", i, f.Name, f.Type, f.Nullable, w.name, w.typ, w.nullable)
		}
	}

	// Every value, as arrow reads it, against the cube's published cells.
	cells := cube.Cells
	rr := array.NewTableReader(tbl, -1)
	defer rr.Release()
	var got []string
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := ""
			for c := range int(rec.NumCols()) {
				col := rec.Column(c)
				if d, ok := col.(*array.Decimal128); ok && d.IsValid(i) {
					row += d.Value(i).ToString(4) + "|" // exact, all four decimals
					continue
				}
				row += col.ValueStr(i) + "|"
			}
			got = append(got, row)
		}
	}
	var want []string
	for _, c := range cells {
		row := "974760673|2026-10-01|" + groupingOf(c) + "|"
		dim := func(has bool, v string) string {
			if !has {
				return "(null)|"
			}
			return v + "|"
		}
		row += dim(c.Set.Has(ur.ByCostCentre), c.CostCentreName())
		row += dim(c.Set.Has(ur.ByService), c.Service.String())
		row += dim(c.Set.Has(ur.ByZone), c.Zone.String())
		if c.Suppression.Hidden() {
			row += "(null)|(null)|(null)|(null)|(null)|true|"
		} else {
			row += fmtInts(c.Subscribers, c.Events, c.DurationS, c.VolumeBytes) + c.Charge.String() + "|false|"
		}
		want = append(want, row)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows as arrow reads them (-cube +arrow):\n%s", diff)
	}
	hidden := 0
	for _, c := range cells {
		if c.Suppression.Hidden() {
			hidden++
		}
	}
	if hidden == 0 {
		t.Error("no hidden cell in the test cube; the null path is untested")
	}
}

// groupingOf spells the cell's grouping as report-v2 does, from its dimensions: the
// kept ones joined with "+" in the order cost_centre, service, roaming_zone, or "total".
func groupingOf(c ur.Cell) string {
	var kept []string
	for _, d := range []struct {
		bit  ur.GroupingSet
		name string
	}{{ur.ByCostCentre, "cost_centre"}, {ur.ByService, "service"}, {ur.ByZone, "roaming_zone"}} {
		if c.Set.Has(d.bit) {
			kept = append(kept, d.name)
		}
	}
	if len(kept) == 0 {
		return "total"
	}
	return strings.Join(kept, "+")
}

func fmtInts(v ...int64) string {
	s := ""
	for _, x := range v {
		s += arrowInt(x) + "|"
	}
	return s
}

func arrowInt(x int64) string {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Append(x)
	a := b.NewArray()
	defer a.Release()
	return a.ValueStr(0)
}
