package export

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/suppress"
)

// The workbook against the Parquet file: every number it shows is the
// published cell's, as Parquet has it.

// cellKey names a report cell: cost centre, service, zone; "" is All.
type cellKey [3]string

func keyOf(r Row) cellKey {
	var k cellKey
	for i, p := range []*string{r.CostCentre, r.Service, r.RoamingZone} {
		if p != nil {
			k[i] = *p
			if k[i] == "" {
				panic("empty dimension value")
			}
		}
	}
	return k
}

// parquetReport writes the cube as Parquet, reads it back and returns its
// rows by cell and its metadata.
func parquetReport(tb testing.TB, c *ur.Report) (map[cellKey]Row, map[string]string) {
	tb.Helper()
	var buf bytes.Buffer
	if err := WriteParquet(&buf, c, testCreated); err != nil {
		tb.Fatal(err)
	}
	rep, err := ReadParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		tb.Fatal(err)
	}
	rows := make(map[cellKey]Row, len(rep.Rows))
	for _, r := range rep.Rows {
		rows[keyOf(r)] = r
	}
	return rows, rep.Metadata
}

// wantNumber is what the workbook must show for measure m of a published
// Parquet row, computed here independently of the writer.
func wantNumber(m measure, r Row) float64 {
	switch m {
	case mSubscribers:
		return float64(*r.Subscribers)
	case mEvents:
		return float64(*r.Events)
	case mMinutes:
		return math.Round(float64(*r.DurationS) / 60) // halves away from zero
	case mGB:
		return float64(*r.VolumeBytes) / 1e9
	default:
		return float64(*r.Charge) / 10_000
	}
}

// nullMeasure reports whether a published Parquet row hides measure m on
// its own (the organisation's total may hide duration_s and volume_bytes).
func nullMeasure(m measure, r Row) bool {
	switch m {
	case mMinutes:
		return r.DurationS == nil
	case mGB:
		return r.VolumeBytes == nil
	}
	return false
}

func measureNamed(name string) (measure, bool) {
	for m := mSubscribers; m <= mCharge; m++ {
		if m.name() == name {
			return m, true
		}
	}
	return 0, false
}

var (
	serviceKeys = map[string]string{"Voice": "voice", "SMS": "sms", "MMS": "mms", "Data": "data", All: ""}
	zoneKeys    = map[string]string{"Domestic": "domestic", "EU/EEA": "eu_eea", "Rest of world": "world", All: ""}
)

// parquetChecker compares workbook cells with Parquet rows.
type parquetChecker struct {
	t       *testing.T
	f       *excelize.File
	seen    map[string]map[cellKey]bool // per month
	checked int
}

// check compares the cell at sheet!ref, which shows measure m of cell k
// of the month's Parquet rows.
func (pc *parquetChecker) check(sheet, ref string, m measure, month string, rows map[cellKey]Row, k cellKey) {
	t := pc.t
	t.Helper()
	raw, err := pc.f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	typ, err := pc.f.GetCellType(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := rows[k]
	where := fmt.Sprintf("%s!%s (%s of %q, %s)", sheet, ref, m.name(), k, month)
	switch {
	case raw == "":
		if ok {
			t.Errorf("%s is empty; Parquet has the cell (suppressed=%v)", where, r.Suppressed)
		}
		return
	case !ok:
		t.Errorf("%s = %q; Parquet has no such cell", where, raw)
		return
	case raw == Mark:
		if !r.Suppressed && !nullMeasure(m, r) {
			t.Errorf("%s shows the mark; Parquet publishes the cell", where)
		}
	case r.Suppressed:
		t.Errorf("%s = %q; Parquet has the cell suppressed", where, raw)
	case nullMeasure(m, r):
		t.Errorf("%s = %q; Parquet hides the measure", where, raw)
	default:
		got, err := strconv.ParseFloat(raw, 64)
		if err != nil || (typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber) {
			t.Errorf("%s = %q (type %v), want a number", where, raw, typ)
			return
		}
		if want := wantNumber(m, r); got != want {
			t.Errorf("%s = %v, Parquet says %v", where, got, want)
		}
	}
	if pc.seen[month] == nil {
		pc.seen[month] = make(map[cellKey]bool)
	}
	pc.seen[month][k] = true
	pc.checked++
}

// checkAgainstParquet reads the workbook back and compares every figure
// on it with the Parquet file of the same cube (and of each history
// month), then checks that every cell the sheets lay out was shown.
func checkAgainstParquet(t *testing.T, c *ur.Report, history []*ur.Report) {
	t.Helper()
	data := writeXLSX(t, c, history)
	f := openXLSX(t, data)
	pc := &parquetChecker{t: t, f: f, seen: map[string]map[cellKey]bool{}}
	month := c.Month.String()
	rows, meta := parquetReport(t, c)
	byMonth := map[string]map[cellKey]Row{month: rows}
	for _, h := range history {
		byMonth[h.Month.String()], _ = parquetReport(t, h)
	}

	// The matrix sheets: measure names on row 2 (first column of each
	// block), services on row 3, the body, a blank row, the "All" row.
	for _, sheet := range []string{SheetCostCentres, SheetRoaming} {
		grid, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(grid) < 5 {
			t.Fatalf("%s: %d rows", sheet, len(grid))
		}
		var m measure
		for col := 1; col < matrixCols; col++ {
			if (col-1)%blockCols == 0 {
				var ok bool
				if m, ok = measureNamed(grid[1][col]); !ok {
					t.Fatalf("%s column %d: measure %q", sheet, col+1, grid[1][col])
				}
			}
			svc, ok := serviceKeys[grid[2][col]]
			if !ok {
				t.Fatalf("%s column %d: service %q", sheet, col+1, grid[2][col])
			}
			total := false
			for r := 3; r < len(grid); r++ {
				if len(grid[r]) == 0 {
					total = true // the blank row before "All"
					continue
				}
				label := grid[r][0]
				var k cellKey
				switch {
				case total && label == All:
				case total:
					t.Fatalf("%s row %d: %q after the blank row", sheet, r+1, label)
				case sheet == SheetCostCentres:
					k[0] = label
				default:
					if k[2], ok = zoneKeys[label]; !ok || label == All {
						t.Fatalf("%s row %d: zone %q", sheet, r+1, label)
					}
				}
				k[1] = svc
				ref, _ := excelize.CoordinatesToCellName(col+1, r+1)
				pc.check(sheet, ref, m, month, rows, k)
			}
		}
	}

	// The Summary: find each table by its title in column A.
	grid, err := f.GetRows(SheetSummary, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	find := func(title string) int {
		for r, row := range grid {
			if len(row) > 0 && row[0] == title {
				return r
			}
		}
		return -1
	}
	tot := find("Organisation total")
	if tot < 0 {
		t.Fatal("Summary: no organisation total")
	}
	for j := range summaryMeasures {
		r := tot + 1 + j
		m, ok := measureNamed(grid[r][0])
		if !ok {
			t.Fatalf("Summary row %d: measure %q", r+1, grid[r][0])
		}
		pc.check(SheetSummary, fmt.Sprintf("B%d", r+1), m, month, rows, cellKey{})
	}
	for _, tb := range []struct {
		title string
		keys  map[string]string
		dim   int
	}{{"By service", serviceKeys, 1}, {"By roaming zone", zoneKeys, 2}} {
		top := find(tb.title)
		if top < 0 {
			t.Fatalf("Summary: no table %q", tb.title)
		}
		header := grid[top+1]
		for r := top + 2; r < len(grid) && len(grid[r]) > 0; r++ {
			v, ok := tb.keys[grid[r][0]]
			if !ok {
				t.Fatalf("Summary row %d: %q", r+1, grid[r][0])
			}
			var k cellKey
			k[tb.dim] = v
			for col := 1; col < len(header); col++ {
				m, ok := measureNamed(header[col])
				if !ok {
					t.Fatalf("Summary %s column %d: %q", tb.title, col+1, header[col])
				}
				ref, _ := excelize.CoordinatesToCellName(col+1, r+1)
				pc.check(SheetSummary, ref, m, month, rows, k)
			}
		}
	}
	if top := find(fmt.Sprintf("Last %d months", len(history)+1)); len(history) > 0 {
		if top < 0 {
			t.Fatal("Summary: no history table")
		}
		header := grid[top+1]
		if len(header) != len(history)+2 {
			t.Errorf("history header %q, want %d months", header, len(history)+1)
		}
		for col := 1; col < len(header); col++ {
			mrows, ok := byMonth[header[col]]
			if !ok {
				t.Fatalf("history column %d: month %q", col+1, header[col])
			}
			for r := top + 2; r < len(grid) && len(grid[r]) > 0; r++ {
				label := grid[r][0]
				var k cellKey
				m, ok := measureNamed(label)
				if !ok {
					name, found := strings.CutPrefix(label, "Charge, ")
					name, _ = strings.CutSuffix(name, " (NOK)")
					if k[1], ok = serviceKeys[name]; !found || !ok || name == All {
						t.Fatalf("history row %d: %q", r+1, label)
					}
					m = mCharge
				}
				ref, _ := excelize.CoordinatesToCellName(col+1, r+1)
				pc.check(SheetSummary, ref, m, header[col], mrows, k)
			}
		}
		for _, h := range history {
			if !pc.seen[h.Month.String()][cellKey{}] {
				t.Errorf("history month %s not shown", h.Month)
			}
		}
	} else if top >= 0 {
		t.Error("history table without history")
	}

	// Every cell of the grouping sets the sheets lay out was shown.
	for k, r := range rows {
		if k[0] != "" && k[2] != "" { // cost centre by zone: not laid out
			continue
		}
		if !pc.seen[month][k] {
			t.Errorf("Parquet cell %q (suppressed=%v) is not in the workbook", k, r.Suppressed)
		}
	}

	// The About sheet agrees with the Parquet metadata.
	about, err := f.GetRows(SheetAbout, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	facts := map[string]string{}
	for _, row := range about {
		if len(row) >= 2 {
			facts[row[0]] = row[1]
		}
	}
	if got, want := facts["Minimum group size"], meta[MetaMinGroupSize]; got != want {
		t.Errorf("About minimum group size %q, Parquet %q", got, want)
	}
	if got, want := facts["Report format"], meta[MetaReportFormat]; got != want {
		t.Errorf("About report format %q, Parquet %q", got, want)
	}
	if got, want := facts["Report made"], meta[MetaCreatedAt]; !strings.HasPrefix(got, want) {
		t.Errorf("About report made %q, Parquet %q", got, want)
	}
	if got := facts["Mark"]; got != Mark {
		t.Errorf("About mark %q, want %q", got, Mark)
	}
	t.Logf("compared %d workbook cells with Parquet", pc.checked)
}

func TestXLSXMatchesParquet(t *testing.T) {
	t.Run("small", func(t *testing.T) {
		c, history := smallCubes(t)
		checkAgainstParquet(t, c, history)
	})
	t.Run("no history", func(t *testing.T) {
		c, _ := smallCubes(t)
		checkAgainstParquet(t, c, nil)
	})
	t.Run("aggregate suppression", func(t *testing.T) {
		// The aggregate package's own suppression (primary, dominance,
		// secondary), whatever pattern it picks today.
		b := aggregate.NewBuilder(testMonth)
		for _, r := range records(testOrg, testMonth, smallSpecs, 3) {
			if err := b.Add(&r); err != nil {
				t.Fatal(err)
			}
		}
		cubes, _, err := suppress.Cubes(b, suppress.Config{MinGroupSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range reports(cubes) {
			checkAgainstParquet(t, c, nil)
		}
	})
	t.Run("300 cost centres", func(t *testing.T) {
		checkAgainstParquet(t, syntheticCube(t, 300), nil)
	})
}
