package mail

import (
	"testing"

	ur "usagereport"
	"usagereport/internal/golden"
)

// TestBodyGolden pins the message text, Norwegian then English, with one
// file attached and one linked.
func TestBodyGolden(t *testing.T) {
	r := &report{org: ur.OrgInfo{Org: 974760673}, files: []reportFile{
		{name: "974760673-2026-10.xlsx", data: []byte{1}},
		{name: "974760673-2026-10.parquet", link: "https://reports.example/974760673/974760673-2026-10.parquet"},
	}}
	golden.Compare(t, "testdata/body.txt", body(r, "Acme AS", "oktober 2026", "October 2026"))
}
