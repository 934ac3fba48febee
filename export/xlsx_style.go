package export

import "github.com/xuri/excelize/v2"

// styles holds the workbook's cell styles. Every style is complete in
// itself (font, fill, border and number format together): excelize applies
// a style to a cell or range by replacing the one there, never by merging.
type styles struct {
	title, note, section int
	label                int // bold row label
	header               int // column header: bold, grey, underlined, centred
	text                 int // a name: text format, so editing it keeps it text
	textTotal            int // the "All" row's label
	wrap                 int // a paragraph on the About sheet
	mark, markTotal      int // a hidden cell, in the body and in a total
	num, numTotal        [mCharge + 1]int
}

// Number formats: built-in 3 is "#,##0" and 4 is "#,##0.00"; they are
// shown with the reader's own separators.
var gbFormat = "#,##0.0"

func newStyles(f *excelize.File) (*styles, error) {
	var st styles
	bold := &excelize.Font{Bold: true}
	grey := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9D9D9"}}
	under := []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}}
	right := &excelize.Alignment{Horizontal: "right"}
	type def struct {
		id *int
		s  excelize.Style
	}
	defs := []def{
		{&st.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}},
		{&st.note, excelize.Style{Font: &excelize.Font{Italic: true, Color: "595959"}}},
		{&st.section, excelize.Style{Font: &excelize.Font{Bold: true, Size: 12}}},
		{&st.label, excelize.Style{Font: bold, Alignment: &excelize.Alignment{Vertical: "top"}}},
		{&st.header, excelize.Style{Font: bold, Fill: grey, Border: under,
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}}},
		{&st.text, excelize.Style{NumFmt: 49}},
		{&st.textTotal, excelize.Style{NumFmt: 49, Font: bold}},
		{&st.wrap, excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
		{&st.mark, excelize.Style{Alignment: right}},
		{&st.markTotal, excelize.Style{Alignment: right, Font: bold}},
	}
	for m := mSubscribers; m <= mCharge; m++ {
		s := excelize.Style{NumFmt: 3}
		switch m {
		case mGB:
			s = excelize.Style{CustomNumFmt: &gbFormat}
		case mCharge:
			s = excelize.Style{NumFmt: 4}
		}
		defs = append(defs, def{&st.num[m], s})
		s.Font = bold
		defs = append(defs, def{&st.numTotal[m], s})
	}
	for _, d := range defs {
		id, err := f.NewStyle(&d.s)
		if err != nil {
			return nil, err
		}
		*d.id = id
	}
	return &st, nil
}

// cellValue returns what the workbook writes for measure m of a cell, and
// its style: nothing for a cell the report does not have (no usage), Mark
// for a hidden one, else the number.
func (st *styles) cellValue(m measure, s shown, total bool) (any, int) {
	switch {
	case !s.present:
		return nil, 0
	case s.hides(m) && total:
		return Mark, st.markTotal
	case s.hides(m):
		return Mark, st.mark
	case total:
		return m.value(s), st.numTotal[m]
	default:
		return m.value(s), st.num[m]
	}
}
