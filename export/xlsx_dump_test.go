package export

import (
	"archive/zip"
	"bytes"
	"fmt"
	"html"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// unzipParts returns every part of a workbook by name.
func unzipParts(tb testing.TB, data []byte) map[string][]byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	parts := make(map[string][]byte)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		parts[zf.Name] = b
	}
	return parts
}

// openXLSX opens a workbook from memory.
func openXLSX(tb testing.TB, data []byte) *excelize.File {
	tb.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

var builtinFormats = map[int]string{0: "General", 3: "#,##0", 4: "#,##0.00", 49: "@"}

// cellFormat describes a cell's style as the dump shows it.
func cellFormat(tb testing.TB, f *excelize.File, sheet, ref string) string {
	tb.Helper()
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := f.GetStyle(id)
	if err != nil {
		tb.Fatal(err)
	}
	format := builtinFormats[s.NumFmt]
	if s.CustomNumFmt != nil {
		format = *s.CustomNumFmt
	}
	if format == "" {
		format = fmt.Sprintf("numFmt %d", s.NumFmt)
	}
	var attrs []string
	if s.Font != nil && s.Font.Bold {
		attrs = append(attrs, "bold")
	}
	if s.Font != nil && s.Font.Italic {
		attrs = append(attrs, "italic")
	}
	if s.Fill.Pattern > 0 {
		attrs = append(attrs, "fill")
	}
	if s.Alignment != nil && s.Alignment.Horizontal != "" {
		attrs = append(attrs, s.Alignment.Horizontal)
	}
	if s.Alignment != nil && s.Alignment.WrapText {
		attrs = append(attrs, "wrap")
	}
	if len(attrs) > 0 {
		format += " " + strings.Join(attrs, ",")
	}
	return format
}

var (
	autoFilterRE = regexp.MustCompile(`<autoFilter ref="([^"]+)"`)
	fitToPageRE  = regexp.MustCompile(`<pageSetUpPr[^>]*fitToPage="(1|true)"`)
	chartRefRE   = regexp.MustCompile(`<f>([^<]*)</f>`)
)

// dumpXLSX writes a workbook as text: document properties, defined names,
// then per sheet its set-up and every cell with type, raw value and format.
// Zip timestamps change from run to run; this does not.
func dumpXLSX(tb testing.TB, data []byte) string {
	tb.Helper()
	f := openXLSX(tb, data)
	parts := unzipParts(tb, data)
	var b strings.Builder
	p, err := f.GetDocProps()
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(&b, "props: title=%q subject=%q creator=%q created=%s modified=%s\n", p.Title, p.Subject, p.Creator, p.Created, p.Modified)
	fmt.Fprintf(&b, "props: description=%q keywords=%q category=%q language=%q\n", p.Description, p.Keywords, p.Category, p.Language)
	for _, d := range f.GetDefinedName() {
		fmt.Fprintf(&b, "name: %s scope=%s refers=%s\n", d.Name, d.Scope, d.RefersTo)
	}
	fmt.Fprintf(&b, "active: %s\n", f.GetSheetName(f.GetActiveSheetIndex()))
	for i, sheet := range f.GetSheetList() {
		fmt.Fprintf(&b, "\n== %s\n", sheet)
		xml := string(parts[fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1)])
		dim, _ := f.GetSheetDimension(sheet)
		fmt.Fprintf(&b, "dimension: %s\n", dim)
		panes, err := f.GetPanes(sheet)
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&b, "panes: freeze=%v x=%d y=%d topLeft=%s\n", panes.Freeze, panes.XSplit, panes.YSplit, panes.TopLeftCell)
		if m := autoFilterRE.FindStringSubmatch(xml); m != nil {
			fmt.Fprintf(&b, "autofilter: %s\n", m[1])
		}
		merges, err := f.GetMergeCells(sheet)
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range merges {
			fmt.Fprintf(&b, "merge: %s:%s\n", m.GetStartAxis(), m.GetEndAxis())
		}
		pl, err := f.GetPageLayout(sheet)
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&b, "page: size=%d orientation=%s fitToWidth=%d fitToHeight=%d fitToPage=%v\n",
			deref(pl.Size), deref(pl.Orientation), deref(pl.FitToWidth), deref(pl.FitToHeight), fitToPageRE.MatchString(xml))
		hf, err := f.GetHeaderFooter(sheet)
		if err != nil {
			tb.Fatal(err)
		}
		if hf != nil {
			fmt.Fprintf(&b, "header: %s\nfooter: %s\n", hf.OddHeader, hf.OddFooter)
		}
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			tb.Fatal(err)
		}
		maxCol := 0
		for _, r := range rows {
			maxCol = max(maxCol, len(r))
		}
		var widths []string
		for c := 1; c <= maxCol; c++ {
			name, _ := excelize.ColumnNumberToName(c)
			w, err := f.GetColWidth(sheet, name)
			if err != nil {
				tb.Fatal(err)
			}
			widths = append(widths, fmt.Sprintf("%s=%g", name, w))
		}
		fmt.Fprintf(&b, "widths: %s\n", strings.Join(widths, " "))
		for _, rel := range slices.Sorted(maps.Keys(parts)) {
			if strings.HasPrefix(rel, "xl/charts/chart") && i == 0 {
				refs := chartRefRE.FindAllStringSubmatch(string(parts[rel]), -1)
				var rs []string
				for _, r := range refs {
					rs = append(rs, html.UnescapeString(r[1]))
				}
				fmt.Fprintf(&b, "chart %s: %s\n", rel, strings.Join(rs, " "))
			}
		}
		for r, row := range rows {
			for c, v := range row {
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				typ, err := f.GetCellType(sheet, ref)
				if err != nil {
					tb.Fatal(err)
				}
				if v == "" && typ == excelize.CellTypeUnset {
					continue
				}
				formula, err := f.GetCellFormula(sheet, ref)
				if err != nil {
					tb.Fatal(err)
				}
				if formula != "" {
					fmt.Fprintf(&b, "%s FORMULA %q\n", ref, formula)
				}
				fmt.Fprintf(&b, "%s %s %q [%s]\n", ref, typeName(typ), v, cellFormat(tb, f, sheet, ref))
			}
		}
	}
	return b.String()
}

func typeName(t excelize.CellType) string {
	switch t {
	case excelize.CellTypeUnset, excelize.CellTypeNumber:
		return "n"
	case excelize.CellTypeInlineString:
		return "inline"
	case excelize.CellTypeSharedString:
		return "s"
	case excelize.CellTypeFormula:
		return "f"
	default:
		return fmt.Sprintf("type%d", t)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
