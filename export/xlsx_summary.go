package export

import (
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	ur "usagereport"
)

// summaryMeasures are the columns of the Summary tables, left to right.
var summaryMeasures = [...]measure{mSubscribers, mEvents, mMinutes, mGB, mCharge}

// cellWriter writes cells through excelize's ordinary API, for the small
// sheets, keeping the first error and the width each column needs.
type cellWriter struct {
	f      *excelize.File
	st     *styles
	sheet  string
	err    error
	widths map[int]int
	last   [2]int // the last column and row written
}

// set writes v (string, int64, float64, or nil for style only) at col,row.
func (w *cellWriter) set(col, row int, v any, style int) {
	if w.err != nil {
		return
	}
	ref, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		w.err = err
		return
	}
	w.last = [2]int{max(w.last[0], col), max(w.last[1], row)}
	switch v := v.(type) {
	case nil:
	case string:
		err = w.f.SetCellStr(w.sheet, ref, v)
	case int64:
		err = w.f.SetCellInt(w.sheet, ref, v)
	case float64:
		err = w.f.SetCellFloat(w.sheet, ref, v, -1, 64)
	default:
		err = fmt.Errorf("cell %s: unexpected value type %T", ref, v)
	}
	if err == nil && style != 0 {
		err = w.f.SetCellStyle(w.sheet, ref, ref, style)
	}
	w.err = err
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

// finish sets every written column's width, plus padding, and the
// sheet's dimension (which some readers use to size what they read).
func (w *cellWriter) finish() error {
	for _, col := range slices.Sorted(maps.Keys(w.widths)) {
		if w.err != nil {
			break
		}
		name, _ := excelize.ColumnNumberToName(col)
		w.err = w.f.SetColWidth(w.sheet, name, name, float64(w.widths[col])+3)
	}
	if w.err != nil {
		return w.err
	}
	last, err := excelize.CoordinatesToCellName(max(w.last[0], 1), max(w.last[1], 1))
	if err != nil {
		return err
	}
	return w.f.SetSheetDimension(w.sheet, "A1:"+last)
}

// summary writes the Summary sheet: the organisation's month total, tables
// by service and by roaming zone, a chart of charge by service, and the
// months of history side by side.
func (wb *workbook) summary(history []*cellTable) error {
	c, t, st := wb.rep, wb.t, wb.st
	w := &cellWriter{f: wb.f, st: st, sheet: SheetSummary, widths: map[int]int{}}
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
	if err := w.finish(); err != nil {
		return err
	}
	if err := wb.chart(serviceRow, svc); err != nil {
		return err
	}
	if err := wb.f.SetPanes(SheetSummary, freezePanes(0, 3)); err != nil {
		return err
	}
	return wb.printSetup(SheetSummary)
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

// chart adds a column chart of the charge by service. Each published
// service is a series of its own that points at its cell in the table, so
// a hidden or absent service is left out rather than drawn as zero.
func (wb *workbook) chart(firstRow int, svc [ur.NumServices]int) error {
	chargeCol, _ := excelize.ColumnNumberToName(2 + len(summaryMeasures) - 1)
	var series []excelize.ChartSeries
	var rows []int
	for s := ur.Service(0); s < ur.NumServices; s++ {
		if c := wb.t.shown(svc[s]); !c.present || c.hidden {
			continue
		}
		r := firstRow + int(s)
		rows = append(rows, r)
		series = append(series, excelize.ChartSeries{
			Name:       fmt.Sprintf("'%s'!$A$%d", SheetSummary, r),
			Categories: fmt.Sprintf("'%s'!$%s$%d", SheetSummary, chargeCol, firstRow-1),
			Values:     fmt.Sprintf("'%s'!$%s$%d", SheetSummary, chargeCol, r),
		})
	}
	// The category axis labels the bars with the first series' category.
	// With one service that must be the service's name, not the column's
	// header; with several, the legend names each bar.
	if len(series) == 1 {
		series[0].Categories = fmt.Sprintf("'%s'!$A$%d", SheetSummary, rows[0])
	}
	anchor := "H6"
	if len(series) == 0 {
		return wb.f.SetCellStr(SheetSummary, anchor, "No chart: no service has a published charge.")
	}
	return wb.f.AddChart(SheetSummary, anchor, &excelize.Chart{
		Type:      excelize.Col,
		Series:    series,
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Charge by service (NOK)"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		YAxis:     excelize.ChartAxis{MajorGridLines: true, NumFmt: excelize.ChartNumFmt{CustomNumFmt: "#,##0"}},
		PlotArea:  excelize.ChartPlotArea{ShowVal: true},
		Dimension: excelize.ChartDimension{Width: 520, Height: 320},
	})
}
