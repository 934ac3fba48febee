package export

import (
	"bytes"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

var firstCellRE = regexp.MustCompile(`(?s)<c r="A1".*?</c>`)

// TestSheetXMLCellsAsExcelize checks that a cell written by sheetXML is
// the XML excelize's stream writer writes for the same value and style:
// text escaping, white space, the _xHHHH_ escape, the length cut, numbers.
func TestSheetXMLCellsAsExcelize(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{"plain", "Sales"},
		{"markup", `R&D <"north"> 'A'`},
		{"leading space", " Sales"},
		{"trailing newline", "Sales\n"},
		{"inner newline and tab", "a\nb\tc\rd"},
		{"formula-looking", "=SUM(A1:A2)"},
		{"escape-looking", "_x0041_ and _x005F_x0041_ and _xZZZZ_"},
		{"control character", "a\x01b"},
		{"non-ASCII", "Fjord & Fjell Entreprenør AS – 😀"},
		{"too long", strings.Repeat("é", excelize.TotalCellChars+10)},
		{"too long with surrogates", strings.Repeat("😀", excelize.TotalCellChars/2+3)},
		{"empty", ""},
		{"int", int64(-1234567890123)},
		{"float", 7673.3309},
		{"float, 17 digits", 0.1 + 0.2},
		{"float, large", 1.2345678901234567e20},
		{"float, small", 1.5e-9},
		{"float, max", math.MaxFloat64},
		{"no value", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := excelize.NewFile()
			defer f.Close()
			sw, err := f.NewStreamWriter("Sheet1")
			if err != nil {
				t.Fatal(err)
			}
			if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: 0, Value: tt.value}}); err != nil {
				t.Fatal(err)
			}
			if err := sw.Flush(); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := f.Write(&buf); err != nil {
				t.Fatal(err)
			}
			want := firstCellRE.Find(unzipParts(t, buf.Bytes())["xl/worksheets/sheet1.xml"])
			var x sheetXML
			x.cell(1, 1, 0, tt.value)
			if !bytes.Equal(x.b, want) {
				t.Errorf("got  %.300s\nwant %.300s", x.b, want)
			}
		})
	}
}

func TestAppendCellRef(t *testing.T) {
	for _, tt := range []struct {
		col, row int
	}{{1, 1}, {26, 9}, {27, 10}, {52, 100}, {702, 1}, {703, 5}, {16384, 1048576}} {
		want, err := excelize.CoordinatesToCellName(tt.col, tt.row)
		if err != nil {
			t.Fatal(err)
		}
		if got := cellRef(tt.col, tt.row); got != want {
			t.Errorf("cellRef(%d, %d) = %q, want %q", tt.col, tt.row, got, want)
		}
	}
}
