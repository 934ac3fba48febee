package export

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	ur "usagereport"
)

// A matrix sheet (Cost centres, Roaming) has one row per cost centre or
// zone and, side by side, one block of columns per measure: the four
// services, then "All". One row per cost centre keeps all of a cost
// centre's figures on one line, so sorting or filtering in Excel keeps
// them together, and one sheet can carry one autofilter for all of them
// (Excel allows one per sheet, so four stacked blocks could not all be
// filtered). Printed, the sheet is fitted to the page width.
var matrixMeasures = [...]measure{mCharge, mMinutes, mGB, mSubscribers}

// blockCols is the width of a measure block: the services, then "All".
const blockCols = ur.NumServices + 1

// The rows of a matrix sheet: a title, the measure names, the column
// headers, the body, a blank row, then the totals.
const (
	matrixHeaderRows = 3
	matrixCols       = 1 + len(matrixMeasures)*blockCols
)

// All is the label of a total over a dimension, as report-v1 names it.
const All = "All"

var (
	serviceLabels = [ur.NumServices]string{"Voice", "SMS", "MMS", "Data"}
	zoneLabels    = [ur.NumZones]string{"Domestic", "EU/EEA", "Rest of world"}
)

// matrixRow is one row of a matrix sheet.
type matrixRow struct {
	label string
	cells [blockCols]int // cells per service, then the row's total; -1: no cell
}

func newMatrixRow(label string) matrixRow {
	return matrixRow{label: label, cells: [blockCols]int{-1, -1, -1, -1, -1}}
}

// matrixSpec describes a matrix sheet. rows yields the body in print order.
type matrixSpec struct {
	sheet, title, rowHeader string
	n                       int
	rows                    func(yield func(matrixRow) bool)
	total                   matrixRow
}

// totalRow is the "All" row: the report's service totals and the
// organisation's total.
func (wb *workbook) totalRow() (matrixRow, error) {
	r := newMatrixRow(All)
	svc := wb.t.byService(ur.ByService, nil)
	copy(r.cells[:], svc[:])
	r.cells[ur.NumServices] = wb.t.total()
	return r, nil
}

// costCentreMatrix lays out the cost centre sheet: cost centres with a
// published total by charge, largest first, then those with a hidden
// total by name. A hidden charge never takes part in the order.
func (wb *workbook) costCentreMatrix() (*matrixSpec, error) {
	t := wb.t
	ccs, parts := t.spans[ur.ByCostCentre], t.spans[ur.ByCostCentre|ur.ByService]
	n := ccs.len()
	// partStart[j] is where cost centre j's service cells begin in parts.
	// Both sets are in cost centre order, so one merge pass finds them.
	partStart := make([]int32, n+1)
	p := parts.start
	for j := range n {
		partStart[j] = int32(p - parts.start)
		name := t.costCentre(ccs.start + j)
		last := -1
		for p < parts.end && t.costCentre(p) == name {
			s := t.cells[p].Service
			if int(s) <= last {
				break // the next cost centre has the same name
			}
			last = int(s)
			p++
		}
	}
	partStart[n] = int32(p - parts.start)
	if p != parts.end {
		return nil, fmt.Errorf("cell %d: cost centre by service cell without a cost centre total", p)
	}

	order := make([]int32, n)
	for j := range order {
		order[j] = int32(j)
	}
	hidden := func(j int32) bool { return t.hidden(ccs.start + int(j)) }
	slices.SortFunc(order, func(a, b int32) int {
		ha, hb := hidden(a), hidden(b)
		switch {
		case ha && !hb:
			return 1
		case !ha && hb:
			return -1
		case !ha: // both published
			ca, cb := t.shown(ccs.start+int(a)).charge, t.shown(ccs.start+int(b)).charge
			if c := cmp.Compare(cb, ca); c != 0 {
				return c
			}
		}
		if c := strings.Compare(t.costCentre(ccs.start+int(a)), t.costCentre(ccs.start+int(b))); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})

	total, err := wb.totalRow()
	if err != nil {
		return nil, err
	}
	return &matrixSpec{
		sheet:     SheetCostCentres,
		title:     fmt.Sprintf("Usage by cost centre and service, organisation %s, %s", wb.rep.Org, wb.rep.Month),
		rowHeader: "Cost centre",
		n:         n,
		total:     total,
		rows: func(yield func(matrixRow) bool) {
			for _, j := range order {
				i := ccs.start + int(j)
				r := newMatrixRow(t.costCentre(i))
				r.cells[ur.NumServices] = i
				for q := parts.start + int(partStart[j]); q < parts.start+int(partStart[j+1]); q++ {
					r.cells[t.cells[q].Service] = q
				}
				if !yield(r) {
					return
				}
			}
		},
	}, nil
}

// roamingMatrix lays out the roaming sheet: one row per zone, in zone order.
func (wb *workbook) roamingMatrix() (*matrixSpec, error) {
	t := wb.t
	zones := t.byZone()
	var rows [ur.NumZones]matrixRow
	for z := ur.Zone(0); z < ur.NumZones; z++ {
		svc := t.byService(ur.ByService|ur.ByZone, func(c *ur.Cell) bool { return c.Zone == z })
		rows[z] = newMatrixRow(zoneLabels[z])
		copy(rows[z].cells[:], svc[:])
		rows[z].cells[ur.NumServices] = zones[z]
	}
	total, err := wb.totalRow()
	if err != nil {
		return nil, err
	}
	return &matrixSpec{
		sheet:     SheetRoaming,
		title:     fmt.Sprintf("Usage by roaming zone and service, organisation %s, %s", wb.rep.Org, wb.rep.Month),
		rowHeader: "Roaming zone",
		n:         len(rows),
		total:     total,
		rows: func(yield func(matrixRow) bool) {
			for _, r := range rows {
				if !yield(r) {
					return
				}
			}
		},
	}, nil
}

// matrix writes a matrix sheet's XML, compressed as it goes: memory is a
// few bytes per cost centre plus the compressed sheet (about a tenth of its
// XML) and a buffer of 64 kB.
func (wb *workbook) matrix(m *matrixSpec, err error) error {
	if err != nil {
		return err
	}
	st, t := wb.st, wb.t
	lastBody := matrixHeaderRows + m.n
	totalRow := lastBody + 2
	lastCol, _ := excelize.ColumnNumberToName(matrixCols)
	filter := fmt.Sprintf("$A$%d:$%s$%d", matrixHeaderRows, lastCol, lastBody)
	// The autofilter's hidden name and the print titles (every printed
	// page repeats the headers) go in the workbook part.
	wb.names = append(wb.names,
		definedName{name: "_xlnm._FilterDatabase", sheet: m.sheet, hidden: true, refersTo: fmt.Sprintf("'%s'!%s", m.sheet, filter)},
		definedName{name: "_xlnm.Print_Titles", sheet: m.sheet, refersTo: fmt.Sprintf("'%s'!$1:$%d", m.sheet, matrixHeaderRows)})

	x := newSheetXML()
	x.start(matrixCols, totalRow, 1, matrixHeaderRows, false, widthsFrom(wb.matrixWidths(m)))

	row := make([]cellOut, matrixCols)
	set := func(r int) {
		x.startRow(r, 0)
		for c, v := range row {
			if v.style != 0 || v.value != nil {
				x.cell(c+1, r, v.style, v.value)
			}
		}
		x.str(`</row>`)
		x.flushSome()
	}
	clear(row)
	row[0] = cellOut{st.title, m.title}
	set(1)
	row[0] = cellOut{style: st.header}
	for b, meas := range matrixMeasures {
		col := 1 + b*blockCols
		row[col] = cellOut{st.header, meas.name()}
		for k := 1; k < blockCols; k++ {
			row[col+k] = cellOut{style: st.header}
		}
	}
	set(2)
	row[0] = cellOut{st.header, m.rowHeader}
	for b := range matrixMeasures {
		col := 1 + b*blockCols
		for s, l := range serviceLabels {
			row[col+s] = cellOut{st.header, l}
		}
		row[col+ur.NumServices] = cellOut{st.header, All}
	}
	set(3)

	fill := func(r matrixRow, total bool) {
		style := st.text
		if total {
			style = st.textTotal
		}
		row[0] = cellOut{style, r.label}
		for b, meas := range matrixMeasures {
			for k, i := range r.cells {
				v, s := st.cellValue(meas, t.shown(i), total || k == ur.NumServices)
				row[1+b*blockCols+k] = cellOut{s, v}
			}
		}
	}
	r := matrixHeaderRows
	for mr := range m.rows {
		r++
		fill(mr, false)
		set(r)
	}
	if r != lastBody {
		return fmt.Errorf("wrote %d rows, want %d", r-matrixHeaderRows, m.n)
	}
	fill(m.total, true)
	set(totalRow)
	x.str(`</sheetData><autoFilter ref="`)
	x.str(filter)
	x.str(`"/><mergeCells count="`)
	x.int(len(matrixMeasures))
	x.str(`">`)
	for b := range matrixMeasures {
		x.str(`<mergeCell ref="`)
		x.b = appendCellRef(x.b, 2+b*blockCols, 2)
		x.b = append(x.b, ':')
		x.b = appendCellRef(x.b, 1+(b+1)*blockCols, 2)
		x.str(`"/>`)
	}
	x.str(`</mergeCells>`)
	x.pageEnd(wb.header, wb.footer, "")
	wb.own[wb.tpl.sheetPaths[m.sheet]] = x.done()
	return nil
}

// cellOut is one cell of a row to write: its style and value (string,
// int64, float64, or nil).
type cellOut struct {
	style int
	value any
}

// matrixWidths returns the column widths of a matrix sheet, wide enough
// for the longest label and formatted number of each column.
func (wb *workbook) matrixWidths(m *matrixSpec) []float64 {
	chars := make([]int, matrixCols)
	chars[0] = max(len(m.rowHeader), len(All)+1)
	for c := 1; c < matrixCols; c++ {
		chars[c] = len("Voice") + 1
	}
	measure := func(r matrixRow, bold bool) {
		extra := 0
		if bold {
			extra = 1
		}
		chars[0] = max(chars[0], min(utf8.RuneCountInString(r.label)+extra, 60))
		for b, meas := range matrixMeasures {
			for k, i := range r.cells {
				s := wb.t.shown(i)
				if s.present && !s.hides(meas) {
					col := 1 + b*blockCols + k
					chars[col] = max(chars[col], meas.width(s)+extra)
				}
			}
		}
	}
	for r := range m.rows {
		measure(r, false)
	}
	measure(m.total, true)
	widths := make([]float64, matrixCols)
	for c, n := range chars {
		widths[c] = float64(n) + 3
	}
	return widths
}
