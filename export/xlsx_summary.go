package export

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	ur "usagereport"
)

// summaryMeasures are the columns of the Summary tables, left to right.
var summaryMeasures = [...]measure{mSubscribers, mEvents, mMinutes, mGB, mCharge}

// cellWriter collects the cells of a small sheet (the Summary) in any
// order, and the width each column needs, then writes its XML.
type cellWriter struct {
	st     *styles
	cells  map[[2]int]cellOut // by row, column
	widths map[int]int
	last   [2]int // the last column and row written
}

// set writes v (string, int64, float64, or nil for style only) at col,row.
func (w *cellWriter) set(col, row int, v any, style int) {
	w.last = [2]int{max(w.last[0], col), max(w.last[1], row)}
	w.put(col, row, v, style)
}

// put writes a cell that neither widens its column nor extends the sheet's
// dimension.
func (w *cellWriter) put(col, row int, v any, style int) {
	if v == nil && style == 0 {
		return
	}
	w.cells[[2]int{row, col}] = cellOut{style, v}
}

// label writes a text cell that sets its column's width.
func (w *cellWriter) label(col, row int, s string, style int) {
	w.set(col, row, s, style)
	w.widen(col, utf8.RuneCountInString(s)+1)
}

// measure writes measure m of cell s.
func (w *cellWriter) measure(col, row int, m measure, s shown, total bool) {
	v, style := w.st.cellValue(m, s, total)
	w.set(col, row, v, style)
	if s.present && !s.hides(m) {
		w.widen(col, m.width(s)+1)
	}
}

func (w *cellWriter) widen(col, chars int) { w.widths[col] = max(w.widths[col], chars) }

// write writes the sheet: every written column's width, plus padding; the
// dimension (which some readers use to size what they read); the cells,
// row by row.
func (w *cellWriter) write(x *sheetXML, frozenRows int, selected bool) {
	var cols []colWidth
	for _, col := range slices.Sorted(maps.Keys(w.widths)) {
		cols = append(cols, colWidth{col, float64(w.widths[col]) + 3})
	}
	x.start(max(w.last[0], 1), max(w.last[1], 1), 0, frozenRows, selected, cols)
	row := -1
	for _, k := range slices.SortedFunc(maps.Keys(w.cells), func(a, b [2]int) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	}) {
		if k[0] != row {
			if row >= 0 {
				x.str(`</row>`)
			}
			row = k[0]
			x.startRow(row, 0)
		}
		c := w.cells[k]
		x.cell(k[1], k[0], c.style, c.value)
	}
	if row >= 0 {
		x.str(`</row>`)
	}
	x.str(`</sheetData>`)
}

// summary writes the Summary sheet: the organisation's month total, tables
// by service and by roaming zone, a chart of charge by service, and the
// months of history side by side.
func (wb *workbook) summary(history []*cellTable) error {
	c, t, st := wb.rep, wb.t, wb.st
	w := &cellWriter{st: st, cells: map[[2]int]cellOut{}, widths: map[int]int{}}
	title := "Monthly usage report"
	if wb.ed.OrgName != "" {
		title += ": " + orgTitle(c.Org, wb.ed.OrgName)
	}
	w.set(1, 1, title, st.title)
	w.label(1, 2, "Organisation", st.label)
	w.set(2, 2, orgTitle(c.Org, wb.ed.OrgName), st.text)
	w.label(1, 3, "Month", st.label)
	w.set(2, 3, c.Month.String(), st.text)
	w.set(1, 4, fmt.Sprintf("%s marks a hidden cell. Totals include the usage in hidden cells. See the About sheet.", Mark), st.note)

	row := 6
	w.set(1, row, "Organisation total", st.section)
	total := t.shown(t.total())
	for k, m := range summaryMeasures {
		w.label(1, row+1+k, m.name(), st.label)
		w.measure(2, row+1+k, m, total, true)
	}
	row += len(summaryMeasures) + 2

	svc := t.byService(ur.ByService, nil)
	serviceRow := row + 2 // first service row of the table
	row = w.table(row, "By service", "Service", serviceLabels[:], svc[:], t)
	zones := t.byZone()
	row = w.table(row+1, "By roaming zone", "Roaming zone", zoneLabels[:], zones[:], t)

	if len(history) > 0 {
		w.history(row+1, append(slices.Clip(history), t))
	}
	if serviceRow != summaryServiceRow {
		return fmt.Errorf("service table at row %d, want %d", serviceRow, summaryServiceRow)
	}
	if wb.chart.services == 0 {
		// Written after the sheet's extent and widths are known, as a note
		// beside the tables.
		w.put(8, 6, "No chart: no service has a published charge.", 0)
	}
	x := newSheetXML()
	w.write(x, 3, true) // Summary is the sheet shown on opening
	x.pageEnd(wb.header, wb.footer, wb.tpl.drawingRel)
	wb.own[wb.tpl.sheetPaths[SheetSummary]] = x.done()
	return nil
}

// table writes a titled table of cells by one dimension with the
// organisation's total as its "All" row, and returns the row after it.
func (w *cellWriter) table(row int, title, header string, labels []string, cells []int, t *cellTable) int {
	st := w.st
	w.set(1, row, title, st.section)
	row++
	w.label(1, row, header, st.header)
	for k, m := range summaryMeasures {
		w.label(2+k, row, m.name(), st.header)
	}
	for j, l := range labels {
		w.label(1, row+1+j, l, st.label)
		for k, m := range summaryMeasures {
			w.measure(2+k, row+1+j, m, t.shown(cells[j]), false)
		}
	}
	row += 1 + len(labels)
	w.label(1, row, All, st.label)
	for k, m := range summaryMeasures {
		w.measure(2+k, row, m, t.shown(t.total()), true)
	}
	return row + 2
}

// history writes the months side by side, oldest first, each with its own
// published cells: the organisation's totals and the charge by service.
func (w *cellWriter) history(row int, months []*cellTable) {
	st := w.st
	w.set(1, row, fmt.Sprintf("Last %d months", len(months)), st.section)
	row++
	w.label(1, row, "Measure", st.header)
	type line struct {
		label string
		m     measure
		cell  func(t *cellTable) int
	}
	var lines []line
	for _, m := range summaryMeasures {
		lines = append(lines, line{m.name(), m, func(t *cellTable) int { return t.total() }})
	}
	for s := ur.Service(0); s < ur.NumServices; s++ {
		lines = append(lines, line{"Charge, " + serviceLabels[s] + " (NOK)", mCharge, func(t *cellTable) int {
			return t.byService(ur.ByService, nil)[s]
		}})
	}
	for k, t := range months {
		w.label(2+k, row, t.month.String(), st.header)
		for j, l := range lines {
			i := l.cell(t)
			if k == 0 {
				w.label(1, row+1+j, l.label, st.label)
			}
			w.measure(2+k, row+1+j, l.m, t.shown(i), j < len(summaryMeasures))
		}
	}
}

// summaryServiceRow is the Summary's row of the first service in its
// service table: the title, organisation, month and note (rows 1-4), a
// blank row, the organisation total (title and a row per measure), a
// blank row, then the service table's title and header.
const summaryServiceRow = 6 + len(summaryMeasures) + 2 + 2

// chartAnchor is the Summary's cell at the chart's top left corner.
const chartAnchor = "H6"

// summaryChart returns the chart of the Summary: the services with a
// published charge.
func summaryChart(t *cellTable) chartKey {
	k := chartKey{firstRow: summaryServiceRow}
	svc := t.byService(ur.ByService, nil)
	for s := ur.Service(0); s < ur.NumServices; s++ {
		if c := t.shown(svc[s]); c.present && !c.hidden {
			k.services |= 1 << s
		}
	}
	return k
}

// chartSpec returns the column chart of the charge by service, or nil
// when no service has a published charge. Each published service is a
// series of its own that points at its cell in the table, so a hidden or
// absent service is left out rather than drawn as zero.
func chartSpec(k chartKey) *excelize.Chart {
	chargeCol, _ := excelize.ColumnNumberToName(2 + len(summaryMeasures) - 1)
	var series []excelize.ChartSeries
	var rows []int
	for s := ur.Service(0); s < ur.NumServices; s++ {
		if k.services&(1<<s) == 0 {
			continue
		}
		r := k.firstRow + int(s)
		rows = append(rows, r)
		series = append(series, excelize.ChartSeries{
			Name:       fmt.Sprintf("'%s'!$A$%d", SheetSummary, r),
			Categories: fmt.Sprintf("'%s'!$%s$%d", SheetSummary, chargeCol, k.firstRow-1),
			Values:     fmt.Sprintf("'%s'!$%s$%d", SheetSummary, chargeCol, r),
		})
	}
	if len(series) == 0 {
		return nil
	}
	// The category axis labels the bars with the first series' category.
	// With one service that must be the service's name, not the column's
	// header; with several, the legend names each bar.
	if len(series) == 1 {
		series[0].Categories = fmt.Sprintf("'%s'!$A$%d", SheetSummary, rows[0])
	}
	return &excelize.Chart{
		Type:      excelize.Col,
		Series:    series,
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Charge by service (NOK)"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		YAxis:     excelize.ChartAxis{MajorGridLines: true, NumFmt: excelize.ChartNumFmt{CustomNumFmt: "#,##0"}},
		PlotArea:  excelize.ChartPlotArea{ShowVal: true},
		Dimension: excelize.ChartDimension{Width: 520, Height: 320},
	}
}
