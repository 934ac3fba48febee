package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"

	ur "usagereport"
	"usagereport/export"
	"usagereport/suppress"
)

// runAudit reads report files back and checks, as an attacker would, that
// no hidden cell can be worked out from the published ones.
func runAudit(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "audit", "FILE.parquet...")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("no report files given")
	}
	failed := 0
	for _, path := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		disclosed, err := auditFile(e, path)
		if err != nil {
			return err
		}
		if disclosed > 0 {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d report files disclose hidden cells", failed, fs.NArg())
	}
	return nil
}

// auditFile audits one file, prints its line and returns the number of
// disclosed cells.
func auditFile(e *Env, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err // it says "open PATH: reason"; Main adds "usagereport audit: "
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	rep, err := export.ReadParquet(f, fi.Size())
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	cells, err := reportCells(rep.Rows)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	res := suppress.Audit(cells)
	fmt.Fprintf(e.Stdout, "%s: %s, %d hidden, %d disclosed", path, plural(int64(len(cells)), "cell", "cells"), res.Hidden, len(res.Disclosed))
	for _, i := range res.Disclosed {
		fmt.Fprintf(e.Stdout, "\n  disclosed: %s", suppress.CellName(&cells[i]))
	}
	fmt.Fprintf(e.Stdout, "; %s\n", narrowest(cells, res.Hidden))
	return len(res.Disclosed), nil
}

// narrowest describes the narrowest interval a reader can put on a hidden
// cell's events, from the published cells and non-negativity. A report
// file does not hold the hidden values, so the width is absolute.
func narrowest(cells []ur.Cell, hidden int) string {
	if hidden == 0 {
		return "narrowest interval: none hidden"
	}
	iv, ok, err := suppress.NarrowestInterval(cells, ur.Events)
	switch {
	case errors.Is(err, suppress.ErrTooLarge):
		return "narrowest interval: not computed (too many hidden cells)"
	case err != nil:
		return "narrowest interval: not computed (" + err.Error() + ")"
	case !ok:
		return "narrowest interval: none hidden"
	}
	return fmt.Sprintf("narrowest interval: events of %s in [%s, %s]",
		suppress.CellName(&cells[iv.Cell]), bound(iv.Lo), bound(iv.Hi))
}

func bound(v float64) string {
	if math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%.0f", v)
}

// reportCells turns the rows of a report back into cells: dimensions from
// the non-null columns, measures where published. Hidden cells keep zero
// measures; only which cells are hidden matters to the exact audit.
func reportCells(rows []export.Row) ([]ur.Cell, error) {
	cells := make([]ur.Cell, len(rows))
	type key struct {
		set  ur.GroupingSet
		cc   string
		svc  ur.Service
		zone ur.Zone
	}
	seen := make(map[key]int, len(rows))
	for i := range rows {
		r := &rows[i]
		c := &cells[i]
		if i > 0 && (r.OrgNumber != rows[0].OrgNumber || r.Month != rows[0].Month) {
			return nil, fmt.Errorf("row %d: more than one organisation or month in one report", i+1)
		}
		if r.CostCentre != nil {
			c.Set |= ur.ByCostCentre
			c.CostCentre = *r.CostCentre
			if c.CostCentre == ur.Unassigned {
				c.CostCentre = ""
			}
		}
		if r.Service != nil {
			s, ok := ur.ParseService([]byte(*r.Service))
			if !ok {
				return nil, fmt.Errorf("row %d: unknown service", i+1)
			}
			c.Set |= ur.ByService
			c.Service = s
		}
		if r.RoamingZone != nil {
			z, ok := ur.ParseZoneName(*r.RoamingZone)
			if !ok {
				return nil, fmt.Errorf("row %d: unknown roaming zone", i+1)
			}
			c.Set |= ur.ByZone
			c.Zone = z
		}
		k := key{c.Set, c.CostCentre, c.Service, c.Zone}
		if j, dup := seen[k]; dup {
			return nil, fmt.Errorf("rows %d and %d: the same cell twice", j+1, i+1)
		}
		seen[k] = i
		if r.Suppressed {
			// The file does not say why; any hidden reason is the same
			// to the audit.
			c.Suppression = ur.HiddenSecondary
			continue
		}
		if err := r.Measures(c); err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, err)
		}
	}
	if len(cells) > 0 && cells[0].Set != 0 {
		return nil, errors.New("the first row is not the organisation's total")
	}
	return cells, nil
}
