package suppress

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/embedded"
	"usagereport/ingest"
)

// caseCells ingests a CSV export from testdata/cases and returns the
// unsuppressed cells of each organisation of month m.
func caseCells(t *testing.T, name string, m ur.Month) map[ur.Org][]ur.Cell {
	t.Helper()
	ctx := context.Background()
	st, err := embedded.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := ingest.NewPseudonymizer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := ingest.NewOslo()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join("testdata", "cases", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := ingest.File(ctx, st, f, name, p, o); err != nil {
		t.Fatal(err)
	}
	b := aggregate.NewBuilder(m)
	if err := st.ScanMonthBatches(ctx, m, b.AddBatch); err != nil {
		t.Fatal(err)
	}
	out := map[ur.Org][]ur.Cell{}
	for _, org := range b.Orgs() {
		cells, err := unsuppressed(b, org)
		if err != nil {
			t.Fatal(err)
		}
		out[org] = cells
	}
	return out
}

// TestAuditFailureCases keeps the two exports of issue 15 (copied from
// the project's shared regression cases into testdata/cases): one cost
// centre holds every event, so its cells equal the organisation's, and a
// credit makes a part's charge larger than its whole. Secondary once hid
// the cost centre's total, which the published organisation total gives
// away, and the report failed the audit. Each must now get a pattern of
// its own search (no fallback) that the audit passes.
func TestAuditFailureCases(t *testing.T) {
	for _, c := range []struct {
		name string
		m    ur.Month
	}{
		{"audit-failure-org.csv", ur.MonthOf(2026, 9)},
		{"audit-failure-org.csv", ur.MonthOf(2026, 10)},
		{"audit-failure-org-2.csv", ur.MonthOf(2026, 9)},
		{"audit-failure-org-2.csv", ur.MonthOf(2026, 10)},
	} {
		t.Run(c.name+"/"+c.m.String(), func(t *testing.T) {
			orgs := caseCells(t, c.name, c.m)
			if len(orgs) == 0 {
				t.Fatal("no organisation in the case")
			}
			for org, cells := range orgs {
				res, err := Suppress(cells, Config{MinGroupSize: 5})
				if err != nil {
					t.Fatal(err)
				}
				if err := res.Audit.check(org, c.m, cells); err != nil {
					t.Errorf("%v", err)
				}
				if res.Fallback != NoFallback {
					t.Errorf("%s %s: fell back to the fallback pattern", org, c.m)
				}
				if cells[0].Suppression.Hidden() {
					t.Errorf("%s %s: the organisation total is hidden", org, c.m)
				}
			}
		})
	}
}
