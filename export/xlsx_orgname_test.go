package export

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestXLSXOrgName checks that the organisation's name from the registry is in the
// Summary's title, the About sheet, every sheet's page header (with "&" escaped as
// the header codes need) and the document properties; and that without a name the
// number alone is shown, with no empty brackets.
func TestXLSXOrgName(t *testing.T) {
	tests := []struct {
		name                    string
		orgName                 string
		wantShown, wantHeader   string
		wantTitle, wantAboutOrg string
	}{
		{"named", "Fjord & Fjell AS", "Fjord & Fjell AS (974760673)", "&CFjord && Fjell AS (974760673), 2026-10&R",
			"Monthly usage report: Fjord & Fjell AS (974760673)", "Fjord & Fjell AS (974760673)"},
		{"name with a line break", "Fjord\nFjell  AS", "Fjord Fjell AS (974760673)", "&CFjord Fjell AS (974760673), 2026-10&R",
			"Monthly usage report: Fjord Fjell AS (974760673)", "Fjord Fjell AS (974760673)"},
		{"no name", "", "974760673", "&COrganisation 974760673, 2026-10&R", "Monthly usage report", "974760673"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			ed := Edition{CreatedAt: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), Version: 1, OrgName: tt.orgName}
			if err := WriteXLSXEdition(&buf, testCube(t), nil, ed); err != nil {
				t.Fatal(err)
			}
			f, err := excelize.OpenReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			get := func(sheet, ref string) string {
				v, err := f.GetCellValue(sheet, ref)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			if got := get(SheetSummary, "A1"); got != tt.wantTitle {
				t.Errorf("Summary title %q, want %q", got, tt.wantTitle)
			}
			if got := get(SheetSummary, "B2"); got != tt.wantShown {
				t.Errorf("Summary organisation %q, want %q", got, tt.wantShown)
			}
			if got := get(SheetAbout, "B3"); got != tt.wantAboutOrg {
				t.Errorf("About organisation %q, want %q", got, tt.wantAboutOrg)
			}
			for _, sh := range f.GetSheetList() {
				hf, err := f.GetHeaderFooter(sh)
				if err != nil {
					t.Fatal(err)
				}
				if hf == nil || !strings.Contains(hf.OddHeader, tt.wantHeader) {
					t.Errorf("sheet %s: header %+v, want it to hold %q", sh, hf, tt.wantHeader)
				}
			}
			props, err := f.GetDocProps()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(props.Title, tt.wantShown+" 2026-10") || !strings.Contains(props.Subject, tt.wantShown) {
				t.Errorf("properties title %q, subject %q; want both to name %q", props.Title, props.Subject, tt.wantShown)
			}
		})
	}
}
