package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/export"
	"usagereport/suppress"
)

// auditCube returns one organisation's cube, suppressed by Cubes: 40
// subscribers over six cost centres, some of them small.
func auditCube(t *testing.T) *suppress.Cube {
	t.Helper()
	month := ur.MonthOf(2026, 10)
	b := aggregate.NewBuilder(month)
	for s := range 40 {
		r := ur.Record{Org: 923609016, Month: month, CostCentre: string(rune('A' + s%6)), Charge: ur.Amount(10_000 * (1 + s%3))}
		if s%6 >= 4 && s > 12 {
			r.CostCentre = "A" // E and F stay small
		}
		r.Subscriber[0] = byte(s)
		r.Service = ur.Service(s % 2 * 3) // voice or data
		if s%7 == 0 {
			r.Zone = ur.EUEEA
		}
		if err := b.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	cubes, _, err := suppress.Cubes(b, suppress.Config{MinGroupSize: 5})
	if err != nil || len(cubes) != 1 {
		t.Fatalf("Cubes: %d cubes, %v", len(cubes), err)
	}
	return cubes[0]
}

func writeReport(t *testing.T, c *ur.Report, name string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := export.WriteParquet(&buf, c, testNow); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAudit(t *testing.T) {
	c := auditCube(t)
	safe := writeReport(t, &c.Report, "safe.parquet")

	// The same cube with primary suppression only: the pattern a query by
	// hand gives, which subtraction undoes.
	cells := slices.Clone(c.Cells)
	for i := range cells {
		cells[i].Suppression = ur.Published
	}
	suppress.Primary(cells, suppress.Config{MinGroupSize: 5})
	weak := writeReport(t, &ur.Report{Org: c.Org, Month: c.Month, MinGroupSize: 5, Cells: cells}, "weak.parquet")

	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderrIn string
	}{
		{"safe", []string{"audit", safe}, ExitOK, []string{"safe.parquet: ", " 0 disclosed", "narrowest interval: events of "}, ""},
		{"weak", []string{"audit", weak}, ExitFailure, []string{"weak.parquet: ", "disclosed: cost_centre="}, "1 of 1 report files disclose"},
		{"both", []string{"audit", safe, weak}, ExitFailure, []string{" 0 disclosed", "disclosed: cost_centre="}, "1 of 2 report files disclose"},
		{"no files", []string{"audit"}, ExitUsage, nil, "no report files"},
		{"missing file", []string{"audit", filepath.Join(t.TempDir(), "none.parquet")}, ExitFailure, nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			if !strings.Contains(r.stderr, tt.stderrIn) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderrIn, r.stderr)
			}
		})
	}
}
