package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestReportShowsOrgName checks that the registry's name (`org add --name`)
// reaches the workbook's title and document properties, and that an
// organisation without an entry gets its number alone.
func TestReportShowsOrgName(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	var b strings.Builder
	b.WriteString("org_number,subscriber,start_time,service,charge\n")
	for i := range 6 {
		fmt.Fprintf(&b, "974760673,+479000000%d,2026-10-03T14:22:05+02:00,sms,1\n", i)
		fmt.Fprintf(&b, "923609016,+479100000%d,2026-10-03T14:22:05+02:00,sms,1\n", i)
	}
	mustRun(t, "ingest", "--store", store, writeFile(t, dir, "six.csv", b.String()))
	mustRun(t, "org", "add", "--store", store, "--org", "974760673", "--name", "Acme AS")
	out := filepath.Join(dir, "out")
	mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", out)
	for org, want := range map[string]string{"974760673": "Acme AS (974760673)", "923609016": "923609016"} {
		f, err := excelize.OpenFile(filepath.Join(out, org, org+"-2026-10.xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		props, err := f.GetDocProps()
		if err != nil {
			t.Fatal(err)
		}
		shown, _ := f.GetCellValue("Summary", "B2")
		f.Close()
		if props.Title != "Usage report "+want+" 2026-10" || shown != want {
			t.Errorf("%s: title %q, Summary shows %q; want %q in both", org, props.Title, shown, want)
		}
	}
}
