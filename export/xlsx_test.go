package export

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	ur "usagereport"
	"usagereport/internal/golden"
)

// TestXLSXGolden pins the layout of a small organisation's workbook.
func TestXLSXGolden(t *testing.T) {
	c, history := smallCubes(t)
	golden.Compare(t, "testdata/small.xlsx.txt", dumpXLSX(t, writeXLSX(t, c, history)))
}

var formulaRE = regexp.MustCompile(`<f[\s>/]|<f$`)

// TestXLSXNoFormulas checks that no worksheet holds a formula: totals are
// values, and names that look like formulas are text.
func TestXLSXNoFormulas(t *testing.T) {
	c, history := smallCubes(t)
	for name, part := range unzipParts(t, writeXLSX(t, c, history)) {
		if !strings.HasPrefix(name, "xl/worksheets/") {
			continue
		}
		if loc := formulaRE.FindIndex(part); loc != nil {
			t.Errorf("%s has a formula at byte %d: %.80s", name, loc[0], part[loc[0]:])
		}
		if bytes.Contains(part, []byte(`t="str"`)) {
			t.Errorf("%s has a formula result cell (t=\"str\")", name)
		}
	}
	if _, ok := unzipParts(t, writeXLSX(t, c, history))["xl/calcChain.xml"]; ok {
		t.Error("workbook has a calculation chain")
	}
}

// TestXLSXFormulaLookingNames checks that cost centre names starting with
// =, +, - or @ are written as text cells, exactly as given.
func TestXLSXFormulaLookingNames(t *testing.T) {
	c, _ := smallCubes(t)
	f := openXLSX(t, writeXLSX(t, c, nil))
	grid, err := f.GetRows(SheetCostCentres, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range smallSpecs {
		if spec.name == "" || !strings.ContainsAny(spec.name[:1], "=+-@") {
			continue
		}
		t.Run(spec.name, func(t *testing.T) {
			r := slices.IndexFunc(grid, func(row []string) bool { return len(row) > 0 && row[0] == spec.name })
			if r < 0 {
				t.Fatalf("cost centre %q not on the sheet", spec.name)
			}
			ref := fmt.Sprintf("A%d", r+1)
			typ, _ := f.GetCellType(SheetCostCentres, ref)
			formula, _ := f.GetCellFormula(SheetCostCentres, ref)
			if typ != excelize.CellTypeInlineString || formula != "" {
				t.Errorf("%s: type %v, formula %q; want a text cell", ref, typ, formula)
			}
			if got := cellFormat(t, f, SheetCostCentres, ref); !strings.HasPrefix(got, "@") {
				t.Errorf("%s: format %q, want text (@)", ref, got)
			}
		})
	}
}

// TestXLSXDeterministic checks that the same cube and time give the same
// parts, byte for byte (the zip's entry order is excelize's own).
func TestXLSXDeterministic(t *testing.T) {
	c, history := smallCubes(t)
	a, b := unzipParts(t, writeXLSX(t, c, history)), unzipParts(t, writeXLSX(t, c, history))
	if len(a) != len(b) {
		t.Fatalf("%d parts, then %d", len(a), len(b))
	}
	for name, part := range a {
		if !bytes.Equal(part, b[name]) {
			t.Errorf("part %s differs between two writes", name)
		}
	}
}

// TestXLSXCostCentreOrder checks the order of the cost centre sheet:
// published totals by charge, largest first (ties by name), then hidden
// totals by name; and the autofilter covering exactly the body.
func TestXLSXCostCentreOrder(t *testing.T) {
	c := syntheticCube(t, 300)
	f := openXLSX(t, writeXLSX(t, c, nil))
	grid, err := f.GetRows(SheetCostCentres, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := parquetReport(t, c)
	var names []string
	for r := matrixHeaderRows; r < len(grid) && len(grid[r]) > 0; r++ {
		names = append(names, grid[r][0])
	}
	if len(names) != 300 {
		t.Fatalf("%d cost centre rows, want 300", len(names))
	}
	seenHidden := false
	for i := 1; i < len(names); i++ {
		a, b := rows[cellKey{names[i-1]}], rows[cellKey{names[i]}]
		switch {
		case a.Suppressed && !b.Suppressed:
			t.Fatalf("row %d: published %q after hidden %q", i+matrixHeaderRows+1, names[i], names[i-1])
		case a.Suppressed:
			seenHidden = true
			if names[i-1] >= names[i] {
				t.Errorf("hidden rows %q, %q not by name", names[i-1], names[i])
			}
		case !b.Suppressed:
			if *a.Charge < *b.Charge || (*a.Charge == *b.Charge && names[i-1] >= names[i]) {
				t.Errorf("rows %q (%d), %q (%d) not by charge, then name", names[i-1], *a.Charge, names[i], *b.Charge)
			}
		}
	}
	if !seenHidden {
		t.Error("fixture has no hidden cost centres")
	}
	xml := string(unzipParts(t, writeXLSX(t, c, nil))["xl/worksheets/sheet2.xml"])
	if m := autoFilterRE.FindStringSubmatch(xml); m == nil || strings.ReplaceAll(m[1], "$", "") != fmt.Sprintf("A3:U%d", 303) {
		t.Errorf("autofilter %v, want A3:U303", m)
	}
}

// formatted writes v as Excel shows it with one of the workbook's formats.
func formatted(v float64, format string) string {
	decimals := strings.Count(format, "0") - strings.Count(strings.Split(format, ".")[0], "0")
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

// TestXLSXColumnWidths reads the column widths back and checks that every
// number, as its format shows it, and every label fits its column.
func TestXLSXColumnWidths(t *testing.T) {
	c, history := smallCubes(t)
	for _, tc := range []struct {
		name string
		c    *ur.Report
		hist []*ur.Report
	}{{"small", c, history}, {"1000 cost centres", syntheticCube(t, 1000), nil}} {
		t.Run(tc.name, func(t *testing.T) {
			f := openXLSX(t, writeXLSX(t, tc.c, tc.hist))
			for _, sheet := range []string{SheetSummary, SheetCostCentres, SheetRoaming} {
				grid, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
				if err != nil {
					t.Fatal(err)
				}
				for r, row := range grid {
					for col, v := range row {
						ref, _ := excelize.CoordinatesToCellName(col+1, r+1)
						name, _ := excelize.ColumnNumberToName(col + 1)
						width, err := f.GetColWidth(sheet, name)
						if err != nil {
							t.Fatal(err)
						}
						n, err := strconv.ParseFloat(v, 64)
						var shown string
						switch {
						case v == "" || (col == 0 && (r < 4 || strings.HasPrefix(v, "Usage by"))):
							continue // empty, or a title that may run over
						case err == nil:
							format, _, _ := strings.Cut(cellFormat(t, f, sheet, ref), " ")
							shown = formatted(n, format)
						case sheet != SheetSummary && r == 1:
							continue // a measure name over a merged block
						default:
							shown = v
						}
						if need := float64(utf8Len(shown)) + 1; width < need && utf8Len(shown) <= 60 {
							t.Errorf("%s!%s shows %q (%g characters) in a column %g wide", sheet, ref, shown, need-1, width)
						}
					}
				}
			}
		})
	}
}

func utf8Len(s string) int { return len([]rune(s)) }

// TestXLSXHistoryErrors checks the contract of history.
func TestXLSXHistoryErrors(t *testing.T) {
	c := newTestCube(t, testMonth, smallSpecs[:2], 0, nil)
	earlier := func(months int) *ur.Report {
		return newTestCube(t, testMonth-ur.Month(months), smallSpecs[:2], months, nil)
	}
	other := newTestCube(t, testMonth-1, smallSpecs[:2], 0, nil)
	other.Org = 923456783
	six := []*ur.Report{earlier(6), earlier(5), earlier(4), earlier(3), earlier(2), earlier(1)}
	for _, tc := range []struct {
		name    string
		history []*ur.Report
		wantErr string
	}{
		{"five months", six[1:], ""},
		{"six months", six, "at most 5"},
		{"other organisation", []*ur.Report{other}, "of organisation 923456783"},
		{"same month", []*ur.Report{c}, "not before"},
		{"newest first", []*ur.Report{earlier(1), earlier(2)}, "not before"},
		{"nil month", []*ur.Report{nil}, "nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteXLSX(&bytes.Buffer{}, c, tc.history, testCreated)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

// BenchmarkWriteXLSX writes the workbook of organisations of growing
// numbers of cost centres. peak-live-B is the most heap that was live
// (marked by a garbage collection) while writing, above what was live
// before: the cube itself is not counted, garbage is not either.
func BenchmarkWriteXLSX(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("cost_centres=%d", n), func(b *testing.B) {
			c := syntheticCube(b, n)
			var size int
			b.ReportAllocs()
			peak := peakLive(func() {
				for b.Loop() {
					var cw countWriter
					if err := WriteXLSX(&cw, c, nil, testCreated); err != nil {
						b.Fatal(err)
					}
					size = int(cw)
				}
			})
			b.ReportMetric(float64(size), "xlsx-B")
			b.ReportMetric(float64(peak), "peak-live-B")
		})
	}
}

type countWriter int64

func (w *countWriter) Write(p []byte) (int, error) { *w += countWriter(len(p)); return len(p), nil }

// peakLive runs fn and returns the largest live heap that the garbage
// collector marked while it ran, less the live heap before. The collector
// runs often (GOGC=5) so that the marks follow the live heap closely.
func peakLive(fn func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	peak = max(peak, read())
	if peak < base {
		return 0
	}
	return peak - base
}

// BenchmarkWriteXLSXCPU measures the time of one workbook as the report
// writes thousands of them: small organisations, the garbage collector at
// its default pace (BenchmarkWriteXLSX runs it at GOGC=5 to follow the
// live heap, which makes its times mostly collection).
func BenchmarkWriteXLSXCPU(b *testing.B) {
	small, history := smallCubes(b)
	cases := []struct {
		name    string
		rep     *ur.Report
		history []*ur.Report
	}{
		{"small_with_history", small, history},
		{"cost_centres=10", syntheticCube(b, 10), nil},
		{"cost_centres=100", syntheticCube(b, 100), nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var cw countWriter
				if err := WriteXLSX(&cw, c.rep, c.history, testCreated); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
