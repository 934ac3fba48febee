package export

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	ur "usagereport"
)

// Mark is what the workbook shows in place of a hidden cell's measures. It
// is the same for every hidden cell, whatever rule hid it, and says nothing
// about the hidden value (never "<5": that is a bound).
const Mark = "–"

// MaxXLSXHistory is how many earlier months the Summary sheet shows beside
// the report's own month.
const MaxXLSXHistory = 5

// Sheet names of the workbook, in tab order.
const (
	SheetSummary     = "Summary"
	SheetCostCentres = "Cost centres"
	SheetRoaming     = "Roaming"
	SheetAbout       = "About"
)

// WriteXLSX writes the report as the workbook an employer opens and prints:
// Summary, Cost centres, Roaming and About. history holds the same
// organisation's earlier months, oldest first (at most MaxXLSXHistory, each
// suppressed by its own run); the Summary shows them side by side.
//
// The workbook shows only published cells. A hidden cell shows Mark, and no
// value in the workbook is computed from a hidden one: totals are the report's
// own total cells, written as values, never as formulas.
//
// The matrix sheets go through excelize's stream writer and the zip is
// written straight to w. Beyond the report, memory is a few bytes per cost
// centre plus the stream writer's buffer, which holds at most 16 MiB of
// sheet XML before it spills to a temporary file (about 32 MB live at the
// most, reached near 15,000 cost centres; see BenchmarkWriteXLSX).
func WriteXLSX(w io.Writer, c *ur.Report, history []*ur.Report, createdAt time.Time) (err error) {
	return WriteXLSXEdition(w, c, history, Edition{CreatedAt: createdAt, Version: 1})
}

// WriteXLSXEdition is WriteXLSX for one publication of the month: the About
// sheet says its version and the events from earlier months it includes.
func WriteXLSXEdition(w io.Writer, c *ur.Report, history []*ur.Report, ed Edition) (err error) {
	createdAt := ed.CreatedAt
	defer func() {
		if err != nil {
			err = fmt.Errorf("write xlsx of %s %s: %w", c.Org, c.Month, err)
		}
	}()
	t, err := newCellTable(c)
	if err != nil {
		return err
	}
	hist, err := historyTables(c, history)
	if err != nil {
		return err
	}

	f := excelize.NewFile()
	defer f.Close() // removes the stream writer's temporary files
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	wb := &workbook{f: f, st: st, rep: c, t: t, createdAt: createdAt.UTC(), ed: ed, parts: map[string][]byte{}}

	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return err
	}
	if err := wb.summary(hist); err != nil {
		return fmt.Errorf("summary sheet: %w", err)
	}
	if err := wb.matrix(wb.costCentreMatrix()); err != nil {
		return fmt.Errorf("cost centre sheet: %w", err)
	}
	if err := wb.matrix(wb.roamingMatrix()); err != nil {
		return fmt.Errorf("roaming sheet: %w", err)
	}
	if err := wb.about(); err != nil {
		return fmt.Errorf("about sheet: %w", err)
	}
	// Summary, the first sheet, is the active one as created. Nothing may
	// touch the streamed sheets after their Flush: f.SetActiveSheet, for
	// one, parses every sheet back into excelize's in-memory tree, which
	// costs about 50 kB per cost centre and undoes the streaming.
	if err := wb.docProps(); err != nil {
		return err
	}

	// excelize builds the whole zip in a bytes.Buffer before copying it to
	// w; a zip writer on w itself streams it instead. (The buffer is only
	// used afterwards to patch zip64 headers of parts over 4 GB, which a
	// report never has.)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return newZipWriter(w, wb.parts) })
	// excelize parsed its theme template into f.Theme and would marshal
	// it back for every workbook; without it, it writes the template's
	// own bytes, which are the same in every workbook (see constParts).
	f.Theme = nil
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

// workbook carries what every sheet writer needs.
type workbook struct {
	f         *excelize.File
	st        *styles
	rep       *ur.Report
	t         *cellTable
	createdAt time.Time
	ed        Edition
	parts     map[string][]byte // parts written here, by zip path, in place of excelize's
}

// historyTables checks the earlier months and returns their cell tables,
// oldest first.
func historyTables(c *ur.Report, history []*ur.Report) ([]*cellTable, error) {
	if len(history) > MaxXLSXHistory {
		return nil, fmt.Errorf("history of %d months: at most %d", len(history), MaxXLSXHistory)
	}
	tables := make([]*cellTable, len(history))
	for i, h := range history {
		if h == nil {
			return nil, fmt.Errorf("history month %d is nil", i)
		}
		if h.Org != c.Org {
			return nil, fmt.Errorf("history month %s is of organisation %s", h.Month, h.Org)
		}
		next := c.Month
		if i+1 < len(history) && history[i+1] != nil {
			next = history[i+1].Month
		}
		if h.Month >= next {
			return nil, fmt.Errorf("history month %s is not before %s", h.Month, next)
		}
		t, err := newCellTable(h)
		if err != nil {
			return nil, fmt.Errorf("history month %s: %w", h.Month, err)
		}
		tables[i] = t
	}
	return tables, nil
}

// docProps fills the document properties a file browser and Excel show.
func (wb *workbook) docProps() error {
	c := wb.rep
	when := wb.createdAt.Format(time.RFC3339)
	return wb.f.SetDocProps(&excelize.DocProperties{
		Title:       fmt.Sprintf("Usage report %s %s", orgTitle(c.Org, wb.ed.OrgName), c.Month),
		Subject:     fmt.Sprintf("Monthly usage report of %s for %s", strings.Replace(orgHeading(c.Org, wb.ed.OrgName), "Organisation ", "organisation ", 1), c.Month),
		Creator:     "usagereport",
		Description: fmt.Sprintf("Aggregated usage, %s; cells with fewer than %d subscriptions are hidden.", ReportFormat, c.MinGroupSize),
		Keywords:    "usage report, " + ReportFormat,
		Category:    "Usage report",
		Language:    "en",
		Created:     when,
		Modified:    when,
	})
}

// printSetup makes a sheet print on A4 landscape, as wide as one page,
// with the organisation and month in the header and footer.
func (wb *workbook) printSetup(sheet string) error {
	f := wb.f
	fit := true
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	a4, landscape, wide, tall := 9, "landscape", 1, 0
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{
		Size: &a4, Orientation: &landscape, FitToWidth: &wide, FitToHeight: &tall,
	}); err != nil {
		return err
	}
	header, footer := wb.headerFooter()
	return f.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{OddHeader: header, OddFooter: footer})
}

// headerFooter returns the printed pages' header and footer.
func (wb *workbook) headerFooter() (header, footer string) {
	// Header and footer codes: &L &C &R sections, &A sheet name, &P page,
	// &N pages. The organisation's name may hold "&", which the codes
	// escape as "&&"; number and month are digits and dashes.
	org := strings.ReplaceAll(orgHeading(wb.rep.Org, wb.ed.OrgName), "&", "&&")
	return fmt.Sprintf(`&L&"-,Bold"Usage report&C%s, %s&R&A`, org, wb.rep.Month),
		fmt.Sprintf(`&L%s = hidden cell (see About)&CPage &P of &N&RMade %s`, Mark, wb.createdAt.Format("2006-01-02 15:04 UTC"))
}

// sheetPath returns the zip path of a worksheet's part, as excelize names
// it: xl/worksheets/sheet<sheet ID>.xml.
func sheetPath(f *excelize.File, sheet string) (string, error) {
	for id, name := range f.GetSheetMap() {
		if name == sheet {
			return fmt.Sprintf("xl/worksheets/sheet%d.xml", id), nil
		}
	}
	return "", fmt.Errorf("sheet %q not in the workbook", sheet)
}

// freezePanes keeps the first rows and columns in view.
func freezePanes(cols, rows int) *excelize.Panes {
	cell, _ := excelize.CoordinatesToCellName(cols+1, rows+1)
	pane := "bottomLeft"
	switch {
	case cols > 0 && rows > 0:
		pane = "bottomRight"
	case cols > 0:
		pane = "topRight"
	}
	return &excelize.Panes{
		Freeze: true, XSplit: cols, YSplit: rows, TopLeftCell: cell, ActivePane: pane,
		Selection: []excelize.Selection{{SQRef: cell, ActiveCell: cell, Pane: pane}},
	}
}
