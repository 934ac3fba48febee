package suppress

import (
	"errors"
	"fmt"
	"slices"

	ur "usagereport"
)

// ErrDisclosed reports a hidden cell that the published cells of its report
// determine exactly.
var ErrDisclosed = errors.New("hidden cell is determined by the published cells")

// AuditResult is what the exact audit found in one report.
type AuditResult struct {
	Hidden int // cells hidden, for any reason
	// Disclosed lists the hidden cells (indexes into the audited cells, in
	// order) that the published cells and the known zeros determine.
	Disclosed []int
}

// Audit decides, exactly, which hidden cells of one report a reader can
// work out. It plays the attacker: every hidden cell is an unknown, every
// published cell a known value, every cell with no events a known zero, and
// every "total = sum of parts" relation of the cube an equation, for each
// additive measure alike. A hidden cell is disclosed when those equations
// determine it uniquely. The decision is made by exact elimination, not by
// floating point. It looks only at which cells are hidden, never at their
// values, so it audits a report read back from a file as well.
//
// A hidden cell that is the total under another name (see layout.fixed)
// is not counted: what the equations give of it, the published total
// shows; it is hidden only for the measures the total hides, whose ranges
// are Widen's and Intervals' to check.
//
// It does not consider non-negativity: see Intervals for the ranges a
// reader can narrow a hidden cell to.
func Audit(cells []ur.Cell) AuditResult {
	return audit(cells, nil)
}

// audit is Audit on the cells' layout l (nil: a new one), which must not
// keep cells (l.keep nil: fixed reads it). republish and the swap audit
// pattern after pattern of one report: its layout, and the room of its
// bases, serve them all.
func audit(cells []ur.Cell, l *layout) AuditResult {
	var res AuditResult
	for i := range cells {
		if cells[i].Suppression.Hidden() {
			res.Hidden++
		}
	}
	if res.Hidden == 0 {
		return res
	}
	if l == nil {
		l = newLayout(cells)
	}
	bs := l.bases(cells)
	// What the reader knows of the global block: its own published cells
	// plus any combination every cost centre gives away.
	gz := bs.g
	gz.addSpace(&bs.z)
	// L_c + W_c, per class of cost centres (see blockSpaces), once needed.
	lws := make([]*space, len(bs.known))
	for c := range l.ccs {
		var lw *space
		for _, i := range l.ccs[c].cells {
			if !cells[i].Suppression.Hidden() {
				continue
			}
			if lw == nil {
				k := bs.class[c]
				if lws[k] == nil {
					s := bs.known[k]
					s.addSpace(bs.wk(k))
					lws[k] = &s
				}
				lw = lws[k]
			}
			if lw.contains(maskVec(l.mask[i])) && !l.fixed(cells, int(i)) {
				res.Disclosed = append(res.Disclosed, int(i))
			}
		}
	}
	for _, i := range l.global.cells {
		if cells[i].Suppression.Hidden() && gz.contains(maskVec(l.mask[i])) && !l.fixed(cells, int(i)) {
			res.Disclosed = append(res.Disclosed, int(i))
		}
	}
	slices.Sort(res.Disclosed)
	return res
}

// CheckCells audits one report's cells and returns an error naming the
// first disclosed cell by its dimensions.
func CheckCells(org ur.Org, m ur.Month, cells []ur.Cell) error {
	return Audit(cells).check(org, m, cells)
}

// check is CheckCells with the audit done.
func (res AuditResult) check(org ur.Org, m ur.Month, cells []ur.Cell) error {
	if len(res.Disclosed) == 0 {
		return nil
	}
	c := &cells[res.Disclosed[0]]
	return fmt.Errorf("audit %s %s: cell %s (and %d more): %w",
		org, m, CellName(c), len(res.Disclosed)-1, ErrDisclosed)
}
