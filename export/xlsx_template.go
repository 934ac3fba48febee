package export

import (
	"archive/zip"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"regexp"
	"slices"
	"sync"

	"github.com/xuri/excelize/v2"
)

// A workbookTemplate is what excelize makes of a workbook once, for all
// the workbooks of one chart: the styles, the theme, the chart and its
// drawing, the package's relationships and content types, and the
// workbook part that lists the sheets. A report's workbook takes these
// parts as they are (compressed once) and writes its own sheets, workbook
// part (with its defined names) and document properties.
//
// excelize parses its templates (theme, styles, workbook) for each new
// file and marshals its structures back for each workbook it writes; a
// report of thousands of small organisations spent most of its workbook
// time there (docs/performance.md, "The workbook without excelize's
// per-workbook work"). The chart depends only on which services have a
// published charge, so there are at most 16 templates.
type workbookTemplate struct {
	parts       []templatePart // in the order excelize wrote them
	st          *styles
	drawingRel  string            // the Summary sheet's relationship to its drawing; "" without a chart
	sheetPaths  map[string]string // zip path of each sheet, by name
	sheetIndex  map[string]int    // position of each sheet, from 0
	workbookXML []byte            // the workbook part, without defined names
}

// templatePart is one part of the template, with its compressed bytes.
type templatePart struct {
	name       string
	size       uint64
	crc        uint32
	compressed []byte
}

// chartKey says which services the Summary's chart shows (bit s set:
// service s has a published charge), and the row of the first service in
// the Summary's service table, which the chart's series refer to.
type chartKey struct {
	services uint8
	firstRow int
}

// templates keeps the templates made, by chart.
var templates struct {
	mu sync.Mutex
	m  map[chartKey]*workbookTemplate
}

// templateFor returns the template of a chart, made on first use.
func templateFor(k chartKey) (*workbookTemplate, error) {
	templates.mu.Lock()
	t := templates.m[k]
	templates.mu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := newTemplate(k)
	if err != nil {
		return nil, fmt.Errorf("workbook template: %w", err)
	}
	templates.mu.Lock()
	defer templates.mu.Unlock()
	if templates.m == nil {
		templates.m = make(map[chartKey]*workbookTemplate)
	}
	if old := templates.m[k]; old != nil {
		return old, nil // made meanwhile by another workbook
	}
	templates.m[k] = t
	return t, nil
}

var drawingRelRE = regexp.MustCompile(`<drawing r:id="([^"]+)"`)

// newTemplate has excelize make an empty workbook with the report's
// sheets, styles and chart, and keeps its parts.
func newTemplate(k chartKey) (*workbookTemplate, error) {
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return nil, err
	}
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return nil, err
	}
	if c := chartSpec(k); c != nil {
		if err := f.AddChart(SheetSummary, chartAnchor, c); err != nil {
			return nil, err
		}
	}
	for _, sh := range []string{SheetCostCentres, SheetRoaming, SheetAbout} {
		if _, err := f.NewSheet(sh); err != nil {
			return nil, err
		}
	}
	t := &workbookTemplate{st: st, sheetPaths: map[string]string{}, sheetIndex: map[string]int{}}
	for i, sh := range f.GetSheetList() {
		t.sheetIndex[sh] = i
		if t.sheetPaths[sh], err = sheetPath(f, sh); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return nil, err
	}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			return nil, err
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("part %s: %w", zf.Name, err)
		}
		switch zf.Name {
		case contentTypesPart:
			// excelize adds the image types of a chart from a map, in
			// random order; the same report should be the same bytes.
			raw = sortDefaultTypes(raw)
		case "xl/workbook.xml":
			t.workbookXML = raw
		case t.sheetPaths[SheetSummary]:
			if m := drawingRelRE.FindSubmatch(raw); m != nil {
				t.drawingRel = string(m[1])
			}
		}
		t.parts = append(t.parts, templatePart{name: zf.Name, size: uint64(len(raw)), crc: crc32.ChecksumIEEE(raw), compressed: compress(raw)})
	}
	if chartSpec(k) != nil && t.drawingRel == "" {
		return nil, fmt.Errorf("no drawing in the %s sheet", SheetSummary)
	}
	if !bytes.Contains(t.workbookXML, []byte(workbookDefinedNamesBefore)) {
		return nil, fmt.Errorf("workbook part without %s", workbookDefinedNamesBefore)
	}
	return t, nil
}

// workbookDefinedNamesBefore is the element of the workbook part that the
// defined names come before.
const workbookDefinedNamesBefore = "<calcPr"

// write writes the workbook: the template's parts, with own's parts (by
// zip path) in place of the template's.
func (t *workbookTemplate) write(w io.Writer, own map[string]*ownPart) error {
	zw := zip.NewWriter(w)
	for name := range own {
		if !slices.ContainsFunc(t.parts, func(p templatePart) bool { return p.name == name }) {
			return fmt.Errorf("part %s is not in the template", name)
		}
	}
	for _, p := range t.parts {
		size, crc, compressed := p.size, p.crc, p.compressed
		if o, ok := own[p.name]; ok {
			size, crc, compressed = o.size, o.crc, o.compressed
		}
		fw, err := zw.CreateRaw(&zip.FileHeader{Name: p.name, Method: zip.Deflate, CRC32: crc,
			CompressedSize64: uint64(len(compressed)), UncompressedSize64: size})
		if err != nil {
			return err
		}
		if _, err := fw.Write(compressed); err != nil {
			return err
		}
	}
	return zw.Close()
}

// ownPart is a part a workbook writes itself, compressed.
type ownPart struct {
	size       uint64
	crc        uint32
	compressed []byte
}

// newOwnPart compresses raw.
func newOwnPart(raw []byte) *ownPart {
	return &ownPart{size: uint64(len(raw)), crc: crc32.ChecksumIEEE(raw), compressed: compress(raw)}
}

// compress deflates b.
func compress(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 64)
	fw := getFlate(&buf)
	fw.Write(b) // writes to a bytes.Buffer do not fail
	fw.Close()
	fastFlate.Put(fw)
	return buf.Bytes()
}
