package suppress

import (
	"errors"
	"math"

	ur "usagereport"
)

// Interval is the range [Lo, Hi] a reader can narrow one measure of a
// hidden cell to, from the published cells and the fact that no finest
// cell is negative. Hi is +Inf when nothing bounds it.
type Interval struct {
	Cell    int // index into the cells
	Measure ur.Measure
	Lo, Hi  float64
}

// MaxIntervalUnknowns bounds the size of the linear programs Intervals
// solves: the number of hidden finest cells of one report. The simplex
// used is dense, so a larger report is refused with ErrTooLarge rather
// than left to run for minutes.
const MaxIntervalUnknowns = 200

// ErrUnsolved reports a linear program the simplex could not solve
// (numerically): the interval is unknown, not narrow.
var ErrUnsolved = errors.New("interval linear program not solved")

// ErrTooLarge reports a report with more hidden finest cells than
// MaxIntervalUnknowns.
var ErrTooLarge = errors.New("too many hidden finest cells for the interval check")

// Intervals computes, for each hidden cell i and additive measure m with
// want(i, m) (or all, when want is nil), the interval an attacker gets by solving two linear
// programs (the smallest and the largest value the cell can take), the
// attack sdcTable's attack() and tau-Argus's audit make. Unknowns are the
// hidden finest cells, each at least zero (charges included: assuming an
// attacker may rely on it errs on the safe side, and where a credit makes
// it false the measure is unbounded) and each with at least one event;
// every published cell is an equation. Floating point is fine here: the exact question, whether a
// cell is determined, is Audit's.
func Intervals(cells []ur.Cell, want func(i int, m ur.Measure) bool) ([]Interval, error) {
	p, err := newIntervalProblem(cells, nil, nil)
	if err != nil {
		return nil, err
	}
	return p.intervals(cells, want, nil)
}

// MaxNarrowestUnknowns bounds the reports NarrowestInterval takes: its
// one program of the whole report is dense (about 20 MB at this size).
const MaxNarrowestUnknowns = 3000

// NarrowestInterval returns the narrowest of the intervals Intervals
// would compute for measure m of the hidden cells (ok false when none is
// hidden), for reports of up to MaxNarrowestUnknowns hidden finest cells.
// It needs no hidden values, so it serves a report read back from a file.
// It solves programs only for the cells that could still be the
// narrowest: a cell whose range seen so far is already wider than the
// narrowest found needs none.
func NarrowestInterval(cells []ur.Cell, m ur.Measure) (iv Interval, ok bool, err error) {
	p, err := newIntervalProblemUpTo(cells, nil, nil, MaxNarrowestUnknowns)
	if err != nil {
		return Interval{}, false, err
	}
	best := math.Inf(1)
	ivs, err := p.solve(cells, m, nil, solveOpts{
		enough:      func(_ int, lo, hi float64) bool { return hi-lo > best },
		fewestFirst: true,
		exact: func(e Interval) {
			if w := e.Hi - e.Lo; !ok || w < best {
				iv, best, ok = e, w, true
			}
		},
	})
	if err != nil {
		return Interval{}, false, err
	}
	if !ok && len(ivs) > 0 {
		// No program was solved: without non-negativity (a negative
		// amount) every range is unbounded.
		iv, ok = ivs[0], true
	}
	return iv, ok, nil
}

// Protected reports whether an interval is wide enough for a value v: for
// event counts, the reader cannot rule out v+1 and the range spans at least
// 2; for amounts, the range reaches p percent either side of v. The
// organisation's total (its value of the measure is total) is published
// and bounds every cell, so no more than total is asked of the upper end:
// a cell that is most of the total cannot be protected further without
// hiding the total.
func Protected(iv Interval, v, total int64, cfg Config) bool {
	const eps = 1e-6
	fv, ft := float64(v), float64(total)
	if iv.Measure == ur.Events {
		return iv.Hi >= min(fv+1, ft)-eps && iv.Hi-iv.Lo >= min(2, ft-fv+1)-eps
	}
	if v == 0 {
		return true // nothing to protect: an empty amount
	}
	p := cfg.WithDefaults().DominanceP / 100
	slack := eps * math.Max(1, math.Abs(fv))
	return iv.Lo <= fv*(1-p)+slack && iv.Hi >= min(fv*(1+p), ft)-slack
}

// Sensitive reports whether measure m of a primary cell needs a wide
// interval: every measure of a cell with fewer than k subscribers, and the
// dominated amounts of a cell hidden by the p%-rule. (A cell hidden for
// one person's data volume does not need its call minutes protected; those
// may be known exactly when its other cells have none.)
func Sensitive(c *ur.Cell, m ur.Measure, cfg Config) bool {
	switch c.Suppression {
	case ur.Published:
		return c.Set == 0 && hides(c, m)
	case ur.HiddenSmall:
		return true
	case ur.HiddenDominance:
		return m.Amount() && dominatedBy(c, m, dominancePPM(cfg.WithDefaults().DominanceP))
	}
	return false
}
