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
	"usagereport/aggregate"
	"usagereport/internal/golden"
	"usagereport/suppress"
)

// TestXLSXGolden pins the layout of a small organisation's workbook.
func TestXLSXGolden(t *testing.T) {
	c, history := smallCubes(t)
	golden.Compare(t, "testdata/small.xlsx.txt", dumpXLSX(t, writeXLSX(t, c, history)))
}

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

// boundRE matches text that bounds a value, such as "<5" or "≤ 4".
var boundRE = regexp.MustCompile(`[<>≤≥]\s*[0-9]|&lt;\s*[0-9]`)

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

// rotateReasons gives every hidden cell another of the hiding rules.
func rotateReasons(cells []ur.Cell) {
	for i := range cells {
		switch cells[i].Suppression {
		case ur.HiddenSmall:
			cells[i].Suppression = ur.HiddenSecondary
		case ur.HiddenSecondary:
			cells[i].Suppression = ur.HiddenDominance
		case ur.HiddenDominance:
			cells[i].Suppression = ur.HiddenSmall
		}
	}
}

// TestXLSXHiddenLookAlike checks that a cell hidden by the primary rule
// and one hidden by the secondary rule cannot be told apart: the same
// cube with every hidden cell's reason changed gives the same workbook,
// part for part.
func TestXLSXHiddenLookAlike(t *testing.T) {
	a := newTestCube(t, testMonth, smallSpecs, 0, secondary)
	b := newTestCube(t, testMonth, smallSpecs, 0, func(cells []ur.Cell) { secondary(cells); rotateReasons(cells) })
	ca, cb := a.Cells, b.Cells
	reasons := map[[2]ur.Suppression]int{}
	for i := range ca {
		if ca[i].Suppression.Hidden() != cb[i].Suppression.Hidden() {
			t.Fatal("the two cubes hide different cells")
		}
		reasons[[2]ur.Suppression{ca[i].Suppression, cb[i].Suppression}]++
	}
	for _, pair := range [][2]ur.Suppression{
		{ur.HiddenSmall, ur.HiddenSecondary}, {ur.HiddenSecondary, ur.HiddenDominance}, {ur.HiddenDominance, ur.HiddenSmall},
	} {
		if reasons[pair] == 0 {
			t.Fatalf("fixture has no cell hidden as %v in one cube and %v in the other", pair[0], pair[1])
		}
	}
	pa, pb := unzipParts(t, writeXLSX(t, a, nil)), unzipParts(t, writeXLSX(t, b, nil))
	if len(pa) != len(pb) {
		t.Errorf("%d parts against %d", len(pa), len(pb))
	}
	for name, part := range pa {
		if !bytes.Equal(part, pb[name]) {
			t.Errorf("part %s differs between primary and secondary hiding", name)
		}
	}
	// And within one workbook, every hidden cell of the body looks alike.
	f := openXLSX(t, writeXLSX(t, a, nil))
	styles := map[string]bool{}
	for _, sheet := range []string{SheetCostCentres, SheetRoaming, SheetSummary} {
		grid, _ := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		for r, row := range grid {
			for col, v := range row {
				if boundRE.MatchString(v) {
					t.Errorf("%s row %d: %q looks like a bound", sheet, r+1, v)
				}
				if v != Mark {
					continue
				}
				ref, _ := excelize.CoordinatesToCellName(col+1, r+1)
				styles[cellFormat(t, f, sheet, ref)] = true
			}
		}
	}
	// Two looks: a body cell, and a bold one in a total row or column.
	if len(styles) > 2 {
		t.Errorf("hidden cells have %d looks: %v", len(styles), styles)
	}
}

// hiddenTokens returns the ways a hidden cell's measures could be written
// into the workbook, leaving out short tokens and those that a published
// cell also has.
func hiddenTokens(t *testing.T, cubes ...*ur.Report) []string {
	forms := func(c ur.Cell) []string {
		nok := float64(c.Charge) / 10_000
		gb := float64(c.VolumeBytes) / 1e9
		return []string{
			strconv.FormatFloat(nok, 'f', -1, 64), fmt.Sprintf("%.2f", nok), c.Charge.String(),
			strconv.FormatInt(c.DurationS, 10), strconv.FormatInt(roundDiv(c.DurationS, 60), 10),
			strconv.FormatInt(c.VolumeBytes, 10), strconv.FormatFloat(gb, 'f', -1, 64), fmt.Sprintf("%.1f", gb),
			strconv.FormatInt(c.Events, 10),
		}
	}
	hidden, published := map[string]bool{}, map[string]bool{}
	for _, cube := range cubes {
		for _, c := range cube.Cells {
			for _, tok := range forms(c) {
				if c.Suppression.Hidden() {
					hidden[tok] = true
				} else {
					published[tok] = true
				}
			}
		}
	}
	var toks []string
	for tok := range hidden {
		if len(strings.Trim(tok, "0.")) >= 4 && !published[tok] {
			toks = append(toks, tok)
		}
	}
	slices.Sort(toks)
	return toks
}

// TestXLSXNoHiddenValue scans every part of the unzipped workbook (sheets,
// shared strings, chart, properties) for any form of a hidden cell's
// measures.
func TestXLSXNoHiddenValue(t *testing.T) {
	c, history := smallCubes(t)
	toks := hiddenTokens(t, append(slices.Clone(history), c)...)
	if len(toks) < 20 {
		t.Fatalf("only %d distinctive hidden values to look for", len(toks))
	}
	parts := unzipParts(t, writeXLSX(t, c, history))
	for _, tok := range toks {
		re := regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(tok) + `($|[^0-9])`)
		for name, part := range parts {
			if loc := re.FindIndex(part); loc != nil {
				t.Errorf("hidden value %s appears in %s: …%s…", tok, name, part[max(0, loc[0]-60):min(len(part), loc[1]+20)])
			}
		}
	}
	// Nor any bound such as "<5", in any part's text.
	escapedBound := regexp.MustCompile(`&lt;\s*[0-9]|&gt;\s*[0-9]|[≤≥]`)
	for name, part := range parts {
		if loc := escapedBound.FindIndex(part); loc != nil {
			t.Errorf("%s has a bound: …%s…", name, part[max(0, loc[0]-40):min(len(part), loc[1]+20)])
		}
	}
	t.Logf("looked for %d hidden values in %d parts", len(toks), len(parts))
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
