package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestWorkbookHistoryFromPublishedReports checks that a month's workbook
// shows the earlier month as it was published, also after the store no
// longer holds that month's records.
func TestWorkbookHistoryFromPublishedReports(t *testing.T) {
	samples, _ := filepath.Glob("../../fixtures/sample/*")
	dir := t.TempDir()
	store, out := filepath.Join(dir, "store"), filepath.Join(dir, "out")
	mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
	mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", out)
	mustRun(t, "report", "--store", store, "--month", "2026-11", "--out", out)
	before := historyHeader(t, out)
	if !strings.Contains(before, "Last 2 months") || !strings.Contains(before, "2026-10") {
		t.Fatalf("November's workbook lacks October: %q", before)
	}
	if r := mustRun(t, "purge", "--store", store, "--retention-months", "1", "--now", "2026-12-15"); !strings.Contains(r.stdout, "2026-10") {
		t.Fatalf("the purge did not delete October:\n%s", r.stdout)
	}
	mustRun(t, "report", "--store", store, "--month", "2026-11", "--out", out)
	if after := historyHeader(t, out); after != before {
		t.Errorf("after the purge the history reads %q, before it %q", after, before)
	}
}

// historyHeader returns the history table's title and month headers of
// the first November workbook under out.
func historyHeader(t *testing.T, out string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(out, "*", "*-2026-11.xlsx"))
	if len(files) == 0 {
		t.Fatal("no November workbook")
	}
	return historyHeaderOf(t, files[0])
}

// historyHeaderOf is historyHeader of one workbook ("" without history).
func historyHeaderOf(t *testing.T, path string) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Summary")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if len(r) > 0 && strings.HasPrefix(r[0], "Last ") && i+1 < len(rows) {
			return r[0] + " | " + strings.Join(rows[i+1], " ")
		}
	}
	return ""
}
