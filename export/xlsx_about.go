package export

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// about writes the About sheet: what the figures mean, why cells are
// hidden, when and how the report was made, and how to read the Parquet
// file that holds the same cells.
func (wb *workbook) about() error {
	c, st := wb.rep, wb.st
	sh := SheetAbout
	parquetName := filepath.Base(Path("", c.Org, c.Month, "parquet"))
	k := c.MinGroupSize

	type line struct {
		label string
		text  any // string, or int64 for a number
	}
	section := func(s string) line { return line{label: "\x00" + s} }
	lines := []line{
		{"Organisation", orgTitle(c.Org, wb.ed.OrgName)},
		{"Month", c.Month.String() + " (calendar month, Norwegian time)"},
		{"Report made", wb.createdAt.Format(time.RFC3339) + " (UTC)"},
		{"Report format", ReportFormat},
		{"Minimum group size", int64(k)},
		{"Publication", wb.ed.versionText()},
		{"Events from earlier months", wb.ed.LateEvents},
		{"Late records", "Usage that reaches us after a month's report was published is counted in the organisation's next report instead: a published month never changes. The line above says how many events of this report are such late usage from earlier months; they are in the organisation's totals only."},
		{},
		section("What the figures mean"),
		{"Subscriptions", "Distinct subscriptions with at least one usage event in the cell. A subscription that used several services or cost centres is counted once in each, so the parts can add up to more than the total."},
		{"Events", "Number of usage records: calls, messages and data sessions."},
		{"Minutes", "Call seconds divided by 60 and rounded to the nearest whole minute (half a minute rounds up). Every cell is rounded on its own."},
		{"Data volume (GB)", "Data bytes divided by 1,000,000,000 (decimal gigabytes). Shown with one decimal; the cell holds the unrounded value."},
		{"Charge (NOK)", "Exact sum of the charges in Norwegian kroner, shown with two decimals. The Parquet file holds it to four decimals."},
		{All, "The total over a dimension: all services, all cost centres or all roaming zones."},
		{"Roaming zone", "Where the usage took place: Domestic (Norway), EU/EEA, or Rest of world."},
		{"(unassigned)", "Usage of subscriptions without a cost centre."},
		{"Empty cell", "No usage of that kind in the month."},
		{},
		section("Hidden cells"),
		{"Mark", Mark},
		{"Why cells are hidden", fmt.Sprintf("To protect the privacy of the people who use the subscriptions, a cell is hidden when fewer than %d subscriptions are in it, or when one subscription makes up so much of it that the figure would show that subscription's own usage. Further cells are hidden when they would let a reader work out a hidden cell from the others and the totals.", k)},
		{"How they look", fmt.Sprintf("A hidden cell shows %s in place of all its figures, whatever the reason it is hidden. The report does not say why a cell is hidden, and nothing in it is worked out from a hidden figure.", Mark)},
		{"Totals", "Totals are the report's own figures for the whole group, written as values, not formulas. They include the usage in hidden cells, so the figures shown in a row or column usually do not add up to its total. The organisation's month total is always shown."},
		{},
		section("The same cells as a data file"),
		{"File", parquetName + " beside this workbook: one row per cell, in Apache Parquet."},
		{"Columns", "org_number, month (first day), grouping (the level of the cell, see Codes below), cost_centre, service, roaming_zone, subscribers, events, duration_s (seconds), volume_bytes, charge (DECIMAL(18,4), NOK), suppressed. A dimension that this workbook calls All is empty (null); a hidden cell has suppressed = true and empty measures. Services are voice, sms, mms, data; zones domestic, eu_eea, world."},
		{"Excel (Power Query)", fmt.Sprintf(`Data > Get Data > From Other Sources > Blank Query, then in the Advanced Editor: let Source = Parquet.Document(File.Contents("C:\Reports\%s")) in Source`, parquetName)},
		{"Python (pandas)", fmt.Sprintf(`import pandas as pd; df = pd.read_parquet("%s")  (needs pyarrow; charge arrives as decimal.Decimal)`, parquetName)},
		{"DuckDB", fmt.Sprintf(`SELECT * FROM read_parquet('%s') WHERE NOT suppressed;`, parquetName)},
		{"Summing", fmt.Sprintf(`The file holds every level at once, so a sum over all its rows counts each krone several times. Sum one level: SELECT cost_centre, charge FROM read_parquet('%s') WHERE grouping = 'cost_centre' AND NOT suppressed; the organisation's total is the row WHERE grouping = 'total'.`, parquetName)},
	}
	// The codes of the data file and their labels here, a section per column.
	column := ""
	for _, code := range Codes() {
		if code.Column != column {
			column = code.Column
			lines = append(lines, line{}, section("Codes in the data file: "+column))
		}
		lines = append(lines, line{code.Code, code.Label})
	}

	labelWidth := 0
	for _, l := range lines {
		if l.text != nil {
			labelWidth = max(labelWidth, utf8.RuneCountInString(l.label)+1)
		}
	}
	lastRow := 1
	for j, l := range lines {
		if l.label != "" || l.text != nil {
			lastRow = 3 + j
		}
	}
	x := newSheetXML()
	// Column widths as cellWriter.finish sets them: the longest label,
	// and the text column at the width its paragraphs wrap at.
	x.start(2, lastRow, 0, 1, false, widthsFrom([]float64{float64(labelWidth) + 3, aboutTextWidth + 3}))
	x.startRow(1, 0)
	x.cell(1, 1, st.title, "About this report")
	x.str(`</row>`)
	for j, l := range lines {
		row := 3 + j
		switch v := l.text.(type) {
		case nil:
			if l.label != "" {
				x.startRow(row, 0)
				x.cell(1, row, st.section, l.label[1:])
				x.str(`</row>`)
			}
		case string:
			// Excel sizes a row to its wrapped text when it opens the file;
			// LibreOffice keeps the default height, so the text runs into
			// the next rows and its end is cut off. An explicit height fits
			// both.
			height := 0.0
			if lines := wrappedLines(v, aboutTextWidth); lines > 1 {
				height = float64(lines)*lineHeightPt + 2
			}
			x.startRow(row, height)
			x.cell(1, row, st.label, l.label)
			x.cell(2, row, st.wrap, v)
			x.str(`</row>`)
		case int64:
			x.startRow(row, 0)
			x.cell(1, row, st.label, l.label)
			x.cell(2, row, st.num[mSubscribers], v)
			x.str(`</row>`)
		}
	}
	x.str(`</sheetData>`)
	x.pageEnd(wb.header, wb.footer, "")
	wb.own[wb.tpl.sheetPaths[sh]] = x.done()
	return nil
}

// aboutTextWidth is the width of the About sheet's text column, in characters of
// the default font; lineHeightPt is the height of one line of 11-point text.
const (
	aboutTextWidth = 97
	lineHeightPt   = 15
)

// wrappedLines estimates how many lines text takes when wrapped in a column width
// characters wide. It errs towards more lines: an office suite without the default
// font (Calibri) draws a wider one, such as DejaVu Sans, about a sixth wider.
func wrappedLines(text string, width int) int {
	perLine := width * 5 / 6
	lines := 0
	for _, para := range strings.Split(text, "\n") {
		n, line := 1, 0
		for _, word := range strings.Fields(para) {
			l := utf8.RuneCountInString(word)
			switch {
			case line == 0:
				line = l
			case line+1+l <= perLine:
				line += 1 + l
			default:
				n++
				line = l
			}
		}
		lines += n
	}
	return lines
}
