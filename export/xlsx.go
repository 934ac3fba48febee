package export

import (
	"bytes"
	"encoding/xml"
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
// The sheets' XML is built here and compressed as it is built; every other
// part comes from a template that excelize made once per process and per
// chart (workbookTemplate). Beyond the report, memory is a few bytes per
// cost centre plus the compressed sheets, about a tenth of their XML (see
// BenchmarkWriteXLSX).
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

	chart := summaryChart(t)
	tpl, err := templateFor(chart)
	if err != nil {
		return err
	}
	wb := &workbook{st: tpl.st, tpl: tpl, chart: chart, rep: c, t: t, createdAt: createdAt.UTC(), ed: ed,
		own: map[string]*ownPart{}}
	wb.header, wb.footer = wb.headerFooter()

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
	wb.own["docProps/core.xml"] = newOwnPart(wb.docProps())
	wb.own["xl/workbook.xml"] = newOwnPart(wb.workbookXML())
	if err := tpl.write(w, wb.own); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

// workbook carries what every sheet writer needs.
type workbook struct {
	tpl       *workbookTemplate
	chart     chartKey
	st        *styles
	rep       *ur.Report
	t         *cellTable
	createdAt time.Time
	ed        Edition
	own       map[string]*ownPart // parts written here, by zip path, in place of the template's
	names     []definedName       // the workbook's defined names, in order
	header    string              // the printed pages' header and footer
	footer    string
}

// definedName is a name the workbook part defines for one sheet.
type definedName struct {
	name, sheet, refersTo string
	hidden                bool
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

// docProps returns the document properties a file browser and Excel show
// (docProps/core.xml), as excelize's SetDocProps writes them.
func (wb *workbook) docProps() []byte {
	c := wb.rep
	when := wb.createdAt.Format(time.RFC3339)
	x := &sheetXML{}
	x.str(xml.Header + `<coreProperties xmlns="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`)
	elem := func(name, text string) {
		x.str("<" + name + ">")
		x.escaped(text)
		x.str("</" + name + ">")
	}
	elem("dc:title", fmt.Sprintf("Usage report %s %s", orgTitle(c.Org, wb.ed.OrgName), c.Month))
	elem("dc:subject", fmt.Sprintf("Monthly usage report of %s for %s", strings.Replace(orgHeading(c.Org, wb.ed.OrgName), "Organisation ", "organisation ", 1), c.Month))
	elem("dc:creator", "usagereport")
	elem("keywords", "usage report, "+ReportFormat)
	elem("dc:description", fmt.Sprintf("Aggregated usage, %s; cells with fewer than %d subscriptions are hidden.", ReportFormat, c.MinGroupSize))
	x.str(`<lastModifiedBy></lastModifiedBy>`)
	elem("dc:language", "en")
	x.str(`<dcterms:created xsi:type="dcterms:W3CDTF">` + when + `</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">` + when + `</dcterms:modified>`)
	elem("category", "Usage report")
	x.str(`</coreProperties>`)
	return x.b
}

// workbookXML returns the template's workbook part with the workbook's
// defined names.
func (wb *workbook) workbookXML() []byte {
	base := wb.tpl.workbookXML
	i := bytes.Index(base, []byte(workbookDefinedNamesBefore)) // newTemplate checked it is there
	x := &sheetXML{b: append(make([]byte, 0, len(base)+1024), base[:i]...)}
	if len(wb.names) > 0 {
		x.str(`<definedNames>`)
		for _, d := range wb.names {
			x.str(`<definedName`)
			if d.hidden {
				x.str(` hidden="true"`)
			}
			x.str(` localSheetId="`)
			x.int(wb.tpl.sheetIndex[d.sheet])
			x.str(`" name="`)
			x.escaped(d.name)
			x.str(`">`)
			x.escaped(d.refersTo)
			x.str(`</definedName>`)
		}
		x.str(`</definedNames>`)
	}
	x.b = append(x.b, base[i:]...)
	return x.b
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
