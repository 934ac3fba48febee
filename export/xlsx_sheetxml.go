package export

import (
	"bytes"
	"encoding/xml"
	"hash/crc32"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"
)

// sheetXML builds a worksheet part's XML directly; every element of the
// report's sheets is decided by this package. Cells come out as excelize
// writes them (the same text escaping and number forms), at a fraction of
// its cost per workbook: excelize re-flattened every column on each width
// set, parsed its own templates and marshalled its worksheet structures
// for every workbook (see docs/performance.md, "Writing the workbook
// without excelize's per-workbook work").
//
// The XML is compressed as it is built, past a buffer of flushAt bytes:
// a sheet of 100,000 cost centres is about 140 MB of XML.
type sheetXML struct {
	b    []byte
	fw   *flate.Writer // nil until the first flush
	out  bytes.Buffer  // compressed
	crc  uint32
	size uint64
}

const flushAt = 64 << 10

func newSheetXML() *sheetXML { return &sheetXML{b: make([]byte, 0, 8<<10)} }

// flushSome compresses the XML built so far once it passes flushAt.
func (x *sheetXML) flushSome() {
	if len(x.b) >= flushAt {
		x.flush()
	}
}

func (x *sheetXML) flush() {
	if x.fw == nil {
		x.fw = getFlate(&x.out)
	}
	x.crc = crc32.Update(x.crc, crc32.IEEETable, x.b)
	x.size += uint64(len(x.b))
	x.fw.Write(x.b) // writes to a bytes.Buffer do not fail
	x.b = x.b[:0]
}

// done returns the sheet's part.
func (x *sheetXML) done() *ownPart {
	x.flush()
	x.fw.Close()
	fastFlate.Put(x.fw)
	x.fw = nil
	return &ownPart{size: x.size, crc: x.crc, compressed: x.out.Bytes()}
}

// worksheetStart opens a worksheet: the SpreadsheetML namespace and the
// relationships one (r:), the only ones a sheet here uses.
const worksheetStart = xml.Header + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`

func (x *sheetXML) str(s string) { x.b = append(x.b, s...) }

func (x *sheetXML) int(n int) { x.b = strconv.AppendInt(x.b, int64(n), 10) }

// colWidth is a column's width, in characters of the default font.
type colWidth struct {
	col   int
	width float64
}

// widthsFrom returns the widths of columns 1, 2, ...
func widthsFrom(widths []float64) []colWidth {
	cols := make([]colWidth, len(widths))
	for i, w := range widths {
		cols[i] = colWidth{i + 1, w}
	}
	return cols
}

// start opens a sheet printed fitted to the page width, of the cells
// A1:lastCol lastRow, frozen above row frozenRows+1 and left of column
// frozenCols+1 (at least one of them non-zero), with the columns' widths.
// The selected sheet is the one a reader sees on opening the workbook.
func (x *sheetXML) start(lastCol, lastRow, frozenCols, frozenRows int, selected bool, cols []colWidth) {
	x.str(worksheetStart)
	x.str(`<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr><dimension ref="A1:`)
	x.b = appendCellRef(x.b, lastCol, lastRow)
	x.str(`"/><sheetViews><sheetView`)
	if selected {
		x.str(` tabSelected="1"`)
	}
	x.str(` workbookViewId="0">`)
	topLeft := cellRef(frozenCols+1, frozenRows+1)
	pane := "bottomLeft"
	switch {
	case frozenCols > 0 && frozenRows > 0:
		pane = "bottomRight"
	case frozenCols > 0:
		pane = "topRight"
	}
	x.str(`<pane`)
	if frozenCols > 0 {
		x.str(` xSplit="`)
		x.int(frozenCols)
		x.str(`"`)
	}
	if frozenRows > 0 {
		x.str(` ySplit="`)
		x.int(frozenRows)
		x.str(`"`)
	}
	x.str(` topLeftCell="` + topLeft + `" activePane="` + pane + `" state="frozen"/><selection pane="` + pane + `" activeCell="` + topLeft + `" sqref="` + topLeft + `"/>`)
	x.str(`</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>`)
	for _, c := range cols {
		x.str(`<col min="`)
		x.int(c.col)
		x.str(`" max="`)
		x.int(c.col)
		x.str(`" width="`)
		x.b = strconv.AppendFloat(x.b, c.width, 'f', -1, 64)
		x.str(`" customWidth="1"/>`)
	}
	x.str(`</cols><sheetData>`)
}

// startRow opens row r; height > 0 sets its height in points.
func (x *sheetXML) startRow(r int, height float64) {
	x.str(`<row r="`)
	x.int(r)
	if height > 0 {
		x.str(`" ht="`)
		x.b = strconv.AppendFloat(x.b, height, 'f', -1, 64)
		x.str(`" customHeight="1`)
	}
	x.str(`">`)
}

// pageEnd writes the page set-up (A4 landscape, one page wide) and the
// printed header and footer, the drawing (a relationship ID, or "" for
// none), and closes the sheet. The caller has closed sheetData and written
// what comes between.
func (x *sheetXML) pageEnd(header, footer, drawingRel string) {
	x.str(`<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/><headerFooter><oddHeader>`)
	x.escaped(header)
	x.str(`</oddHeader><oddFooter>`)
	x.escaped(footer)
	x.str(`</oddFooter></headerFooter>`)
	if drawingRel != "" {
		x.str(`<drawing r:id="`)
		x.escaped(drawingRel)
		x.str(`"/>`)
	}
	x.str(`</worksheet>`)
}

// escaped writes s as XML character data, escaped as encoding/xml does.
func (x *sheetXML) escaped(s string) {
	var w strings.Builder
	_ = xml.EscapeText(&w, []byte(s)) // a strings.Builder does not fail
	x.b = append(x.b, w.String()...)
}

// startCell opens cell (col, row) with style (0: none) and type t ("":
// none).
func (x *sheetXML) startCell(col, row, style int, t string) {
	x.b = append(x.b, `<c r="`...)
	x.b = appendCellRef(x.b, col, row)
	x.b = append(x.b, '"')
	if style != 0 {
		x.b = append(x.b, ` s="`...)
		x.b = strconv.AppendInt(x.b, int64(style), 10)
		x.b = append(x.b, '"')
	}
	if t != "" {
		x.b = append(x.b, ` t="`...)
		x.b = append(x.b, t...)
		x.b = append(x.b, '"')
	}
	x.b = append(x.b, '>')
}

// cell writes a cell's value: a string (inline), an int64, a float64, or
// nil for a cell with a style and no value.
func (x *sheetXML) cell(col, row, style int, v any) {
	switch v := v.(type) {
	case nil:
		x.startCell(col, row, style, "")
	case string:
		x.startCell(col, row, style, "inlineStr")
		x.b = append(x.b, `<is><t`...)
		if needsSpacePreserve(v) {
			x.b = append(x.b, ` xml:space="preserve"`...)
		}
		x.b = append(x.b, '>')
		x.b = appendCellText(x.b, v)
		x.b = append(x.b, `</t></is>`...)
	case int64:
		x.startCell(col, row, style, "")
		x.b = append(x.b, `<v>`...)
		x.b = strconv.AppendInt(x.b, v, 10)
		x.b = append(x.b, `</v>`...)
	case float64:
		x.startCell(col, row, style, "")
		x.b = append(x.b, `<v>`...)
		x.b = append(x.b, formatCellFloat(v)...)
		x.b = append(x.b, `</v>`...)
	default:
		panic("sheetXML: unexpected cell value type") // the callers pass only these
	}
	x.b = append(x.b, `</c>`...)
}

// appendCellRef appends a cell reference such as "B12".
func appendCellRef(b []byte, col, row int) []byte {
	var letters [3]byte
	i := len(letters)
	for ; col > 0; col = (col - 1) / 26 {
		i--
		letters[i] = byte('A' + (col-1)%26)
	}
	b = append(b, letters[i:]...)
	return strconv.AppendInt(b, int64(row), 10)
}

// cellRef returns a cell reference such as "B12".
func cellRef(col, row int) string { return string(appendCellRef(nil, col, row)) }

// The rest follows excelize v2.11.1's own rules for a cell's text and
// numbers (cell.go: trimCellValue, formatCellFloat; lib.go: bstrMarshal),
// so that a cell reads back exactly as excelize would have written it.

// needsSpacePreserve reports whether text begins or ends with white space,
// which a reader keeps only with xml:space="preserve".
func needsSpacePreserve(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte{9, 10, 13, 32} {
		if s[0] == c || s[len(s)-1] == c {
			return true
		}
	}
	return false
}

// appendCellText appends a cell's text: cut to a cell's limit of 32,767
// UTF-16 units, escaped as XML keeping line breaks as they are, and with
// any text that looks like an escaped character (_xHHHH_) escaped itself.
func appendCellText(b []byte, s string) []byte {
	if len(s) > excelize.TotalCellChars { // bytes >= UTF-16 units
		n := 0
		for i, r := range s {
			if n += utf16.RuneLen(r); n > excelize.TotalCellChars {
				s = s[:i]
				break
			}
		}
	}
	var w strings.Builder
	_ = xml.EscapeText(&w, []byte(s))
	s = strings.ReplaceAll(w.String(), "&#xA;", "\n")
	if strings.Contains(s, "_x") {
		s = bstrMarshal(s)
	}
	return append(b, s...)
}

var (
	bstrExp       = regexp.MustCompile(`_x[a-fA-F\d]{4}_`)
	bstrEscapeExp = regexp.MustCompile(`x[a-fA-F\d]{4}_`)
)

// bstrMarshal escapes text that a reader would take for an escaped
// character (ST_Xstring: _xHHHH_) by escaping its underscore.
func bstrMarshal(s string) (result string) {
	matches, l, cursor := bstrExp.FindAllStringSubmatchIndex(s, -1), len(s), 0
	for _, match := range matches {
		result += s[cursor:match[0]]
		subStr := s[match[0]:match[1]]
		if subStr == "_x005F_" {
			cursor = match[1]
			if match[1]+6 <= l && bstrEscapeExp.MatchString(s[match[1]:match[1]+6]) {
				_, err := strconv.Unquote(`"\u` + s[match[1]+1:match[1]+5] + `"`)
				if err == nil {
					result += subStr + "x005F" + subStr
					continue
				}
			}
			result += subStr + "x005F_"
			continue
		}
		if bstrExp.MatchString(subStr) {
			cursor = match[1]
			if _, err := strconv.Unquote(`"\u` + s[match[0]+2:match[1]-1] + `"`); err == nil {
				result += "_x005F" + subStr
				continue
			}
		}
	}
	if cursor < l {
		result += s[cursor:]
	}
	return result
}

// formatCellFloat formats a number as excelize does with automatic
// precision: the shortest form that reads back as the same float64, cut
// to Excel's 15 significant digits.
func formatCellFloat(value float64) string {
	str := strconv.FormatFloat(value, 'f', -1, 64)
	if math.Abs(value) == math.MaxFloat64 {
		return str
	}
	const maxPrec = 15
	decimal := strings.IndexByte(str, '.')
	significant := 0
	for idx := range str {
		if str[idx] < '0' || str[idx] > '9' || significant == 0 && str[idx] == '0' {
			continue
		}
		significant++
		if significant <= maxPrec {
			continue
		}
		if decimal >= 0 && idx > decimal {
			return strings.TrimSuffix(str[:idx], ".")
		}
		if decimal < 0 {
			decimal = len(str)
		}
		truncated := []byte(str[:decimal])
		for ; idx < len(truncated); idx++ {
			truncated[idx] = '0'
		}
		return string(truncated)
	}
	return str
}
