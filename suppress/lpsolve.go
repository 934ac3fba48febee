package suppress

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	ur "usagereport"
)

// Solving the interval programs.

// intervals computes the problem's intervals of the wanted cells, every
// measure. With cfg non-nil it is the version for Widen: it stops working
// on an interval as soon as feasible tables show it wide enough
// (Protected), so an interval that is wide enough may come back narrower
// than it is.
func (p *intervalProblem) intervals(cells []ur.Cell, want func(i int, m ur.Measure) bool, cfg *Config) ([]Interval, error) {
	return p.intervalsUpTo(cells, want, cfg, cutoff{})
}

// cutoff stops the interval programs early: once more than limit of the
// intervals computed are bad. The zero value never stops.
type cutoff struct {
	// bad marks the intervals that count; it must hold for none that
	// Widen's shortcut (enough) leaves unfinished, since those are
	// Protected.
	bad   func(Interval) bool
	limit int
	// first: these cells' intervals are computed first, within each
	// measure (where a bad one is likely; it changes no interval).
	first func(i int) bool
}

// intervalsUpTo is intervals that stops as c says. It then returns the
// intervals computed so far, more than c.limit of them bad: enough to know
// that the count passed the limit, and no more work.
func (p *intervalProblem) intervalsUpTo(cells []ur.Cell, want func(i int, m ur.Measure) bool, cfg *Config, c cutoff) ([]Interval, error) {
	var out []Interval
	for m := range ur.NumMeasures {
		var enough func(i int, lo, hi float64) bool
		if cfg != nil {
			enough = func(i int, lo, hi float64) bool {
				return Protected(Interval{Cell: i, Measure: m, Lo: lo, Hi: hi}, m.Value(&cells[i]), p.l.upperCap(cells, i, m), *cfg)
			}
		}
		from := len(out)
		var err error
		out, err = p.solve(cells, m, want, solveOpts{enough: enough, fromTrue: enough != nil, cutoff: c, into: out})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		if c.bad != nil {
			for _, iv := range out[from:] {
				if c.bad(iv) {
					c.limit--
				}
			}
			if c.limit < 0 {
				return out, nil
			}
		}
	}
	return out, nil
}

// solve computes the intervals of one measure, appended to opt.into.
//
// With enough non-nil, an interval may come back narrower than the true
// one (never wider): a cell stops being worked on once enough(cell, lo, hi)
// holds for the range seen in feasible tables. The true values must then
// be in cells.
func (p *intervalProblem) solve(cells []ur.Cell, m ur.Measure, want func(int, ur.Measure) bool, opt solveOpts) ([]Interval, error) {
	enough := opt.enough
	// Columns: the unknowns that some equation holds and that the reader
	// does not know to be zero. Free ones only raise the upper bound of the
	// cells holding them to +Inf.
	sc := &p.l.solveBuf
	col := grow(&sc.col, p.nvars)
	zero := grow(&sc.zero, p.nvars)
	n := 0
	for j := range p.nvars {
		col[j] = -1
		zero[j] = knownZero(&cells[p.varCell[j]], m)
		if !p.free[j] && !zero[j] {
			col[j] = n
			n++
		}
	}
	scale := 1.0
	if m == ur.Charge && p.l.credit(cells) {
		// A credit: charges are not all non-negative, so a reader
		// leaning on it is wrong, and without it an undetermined charge
		// is unbounded.
		return p.unbounded(opt.into, cells, m, want), nil
	}
	// A finest cell in the report has at least one event: a reader knows
	// that much of every hidden one. For events the unknowns are shifted
	// by that 1 (x = 1 + y, y >= 0).
	floor := 0.0
	if m == ur.Events {
		floor = 1
	}
	if !p.hiddenMade {
		p.hiddenMade = true
		p.eachRow(func(i int) {
			if cells[i].Suppression.Hidden() || (i == p.l.total && cells[i].HiddenMeasures != 0) {
				p.hidden = append(p.hidden, int32(i))
			}
		})
		p.hiddenSpans = grow(&p.hiddenSpans, len(p.hidden))
		for h := range p.hiddenSpans {
			p.hiddenSpans[h][0] = -1
		}
	}
	wanted := func(i int) bool {
		return (want == nil || want(i, m)) && (i != p.l.total || hides(&cells[i], m))
	}
	// The targets and their columns, each in one allocation (counted
	// first: growing them was a tenth of what the suppression allocated).
	nts, ncols := 0, 0
	for h, i32 := range p.hidden {
		if wanted(int(i32)) {
			nts++
			if sp := p.hiddenSpans[h]; sp[0] >= 0 {
				ncols += int(sp[1] - sp[0])
			}
		}
	}
	ts := grow(&sc.ts, nts)[:0]
	colSlab := grow(&sc.cols, ncols)[:0]
	for h, i32 := range p.hidden {
		i := int(i32)
		if !wanted(i) {
			continue
		}
		if p.hiddenSpans[h][0] < 0 {
			from := len(p.hints)
			var fixed []int32
			p.hints, fixed = p.split(i, p.hints, sc.fixed[:0])
			mid := len(p.hints)
			p.hints = append(p.hints, fixed...)
			sc.fixed = fixed
			p.hiddenSpans[h] = [3]int32{int32(from), int32(mid), int32(len(p.hints))}
		}
		sp := p.hiddenSpans[h]
		t := solveTarget{cell: i, known: float64(p.restOf(i, m))}
		from := len(colSlab)
		for _, j := range p.hints[sp[0]:sp[1]] {
			if zero[j] {
				continue
			}
			t.known += floor
			if col[j] < 0 {
				t.unbounded = true
			} else {
				colSlab = append(colSlab, col[j])
			}
		}
		if to := len(colSlab); to > from {
			t.cols = colSlab[from:to:to]
		}
		for _, k := range p.hints[sp[1]:sp[2]] {
			t.known += float64(m.Value(&cells[k]))
		}
		t.lo, t.hi = math.Inf(1), math.Inf(-1)
		if opt.fromTrue {
			// The true table is a solution: the interval holds the value.
			v := float64(m.Value(&cells[i]))
			t.lo, t.hi = v, v
		}
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return opt.into, nil // no program to solve
	}
	if first := opt.cutoff.first; first != nil {
		slices.SortStableFunc(ts, func(x, y solveTarget) int {
			fx, fy := first(x.cell), first(y.cell)
			switch {
			case fx && !fy:
				return -1
			case fy && !fx:
				return 1
			}
			return 0
		})
	}
	if opt.fewestFirst {
		slices.SortStableFunc(ts, func(x, y solveTarget) int { return cmp.Compare(len(x.cols), len(y.cols)) })
	}
	rhs := grow(&sc.rhs, len(p.rows))
	clear(rhs) // the total's row, when dropped, keeps 0
	a := grow(&sc.a, len(p.rows))
	slab := p.l.scratchMatrix(len(p.rows) * n)
	for r, i := range p.rows {
		a[r] = slab[r*n : (r+1)*n : (r+1)*n]
		if i == p.l.total && hides(&cells[i], m) {
			continue // no equation: the total does not show m (dropped below)
		}
		v := float64(m.Value(&cells[i]) - p.restOf(i, m))
		for _, j := range p.rowVars(r) {
			if !zero[j] {
				v -= floor
				a[r][col[j]] = 1
			}
		}
		for _, k := range p.rowFixed(r) {
			v -= float64(m.Value(&cells[k]))
		}
		rhs[r] = v
		scale = max(scale, math.Abs(v))
	}
	for r := range rhs {
		rhs[r] /= scale
	}
	// Without the known zeros an equation may have no unknowns left (the
	// true table satisfies it) or repeat another (phase I drops it).
	k := 0
	for r := range a {
		if slices.ContainsFunc(a[r], func(x float64) bool { return x != 0 }) {
			a[k], rhs[k] = a[r], rhs[r]
			k++
		}
	}
	a, rhs = a[:k], rhs[:k]
	if p.l.total >= 0 && hides(&cells[p.l.total], m) {
		// Without the total's equation a column may be in no equation
		// left: nothing bounds it above, and a program over it would be
		// unbounded. It only makes its cells' upper ends +Inf.
		inRow := make([]bool, n)
		for r := range a {
			for c, x := range a[r] {
				inRow[c] = inRow[c] || x != 0
			}
		}
		for k := range ts {
			t := &ts[k]
			kept := t.cols[:0]
			for _, c := range t.cols {
				if inRow[c] {
					kept = append(kept, c)
				} else {
					t.unbounded = true
				}
			}
			t.cols = kept
		}
	}
	// Every optimum is a table the published cells allow, so it widens
	// what has been seen of every cell; with enough, a cell whose seen
	// range is already wide enough needs no programs of its own. Only
	// enough reads the ranges seen, so without it nothing is widened; with
	// it, only the cells from the one being solved on: the range seen of a
	// cell already done is not read again, and a cell without columns has
	// its value. (Widening every cell after every optimum was a sixth of
	// the report step on the second generator's data.)
	//
	// A cell none of whose columns the optimum moves off zero sees its
	// known part: v is then t.known exactly (adding a zero changes no sum
	// here, none being -0), and taking it in again changes nothing. So
	// only the cells holding a column that is non-zero in x are summed,
	// found by column (byCol), and the others take their known part once,
	// when read (settle): min and max do not depend on the order they are
	// taken in. (Summing every cell after every optimum was a fifth of
	// solve.)
	var byCol targetsByCol
	if enough != nil {
		byCol.make(ts, n, sc)
	}
	calls := int32(0)
	seen := func(from int, x []float64) {
		if enough == nil {
			return
		}
		if opt.seenEvery {
			for k := from; k < len(ts); k++ {
				t := &ts[k]
				if len(t.cols) == 0 {
					continue
				}
				v := t.known
				for _, c := range t.cols {
					v += x[c] * scale
				}
				t.lo, t.hi = seenMin(t.lo, v), seenMax(t.hi, v)
			}
			return
		}
		calls++
		for c, xc := range x {
			if xc == 0 {
				continue
			}
			for _, k := range byCol.of(c) {
				t := &ts[k]
				if int(k) < from || t.mark == calls {
					continue
				}
				t.mark = calls
				t.hits++
				v := t.known
				for _, c := range t.cols {
					v += x[c] * scale
				}
				t.lo, t.hi = seenMin(t.lo, v), seenMax(t.hi, v)
			}
		}
	}
	settle := func(t *solveTarget) {
		if t.hits < calls {
			t.lo, t.hi = seenMin(t.lo, t.known), seenMax(t.hi, t.known)
		}
	}
	var tab *tableau
	obj := grow(&sc.obj, n)
	base := len(opt.into)
	out := slices.Grow(opt.into, len(ts))
	// With a cutoff, the work stops once more than its limit of the
	// intervals are bad (those computed here: an unbounded measure below
	// returns every interval afresh, none cut short).
	left := opt.cutoff.limit
	for k := range ts {
		if opt.cutoff.bad != nil && left < 0 {
			break
		}
		t := &ts[k]
		iv := Interval{Cell: t.cell, Measure: m, Lo: t.known, Hi: t.known}
		if len(t.cols) > 0 {
			settle(t)
			if enough != nil && enough(t.cell, t.lo, t.hi) {
				out = append(out, Interval{Cell: t.cell, Measure: m, Lo: t.lo, Hi: t.hi})
				continue
			}
			// The largest value first (the end that is usually short),
			// then, unless the tables seen so far already show enough,
			// the smallest.
			clear(obj)
			for _, c := range t.cols {
				obj[c] = -1
			}
			hi, x, err := p.optimum(obj, a, rhs, n, &tab)
			if errors.Is(err, errInfeasible) {
				// Some finest cell is negative: a reader cannot lean on
				// non-negativity for this measure, and without it an
				// undetermined cell is unbounded.
				return p.unbounded(out[:base], cells, m, want), nil
			}
			if err != nil {
				return nil, fmt.Errorf("cell %s: %w: %w", CellName(&cells[t.cell]), ErrUnsolved, err)
			}
			seen(k, x)
			settle(t)
			if enough != nil && enough(t.cell, t.lo, t.hi) {
				out = append(out, Interval{Cell: t.cell, Measure: m, Lo: t.lo, Hi: t.hi})
				continue
			}
			for j := range obj {
				obj[j] = -obj[j]
			}
			lo, x, err := p.optimum(obj, a, rhs, n, &tab)
			if err != nil {
				return nil, fmt.Errorf("cell %s: %w: %w", CellName(&cells[t.cell]), ErrUnsolved, err)
			}
			seen(k, x)
			iv.Lo += lo * scale
			iv.Hi += -hi * scale
		}
		if t.unbounded {
			iv.Hi = math.Inf(1)
		}
		if opt.exact != nil {
			opt.exact(iv)
		}
		if opt.cutoff.bad != nil && opt.cutoff.bad(iv) {
			left--
		}
		out = append(out, iv)
	}
	return out, nil
}

// solveTarget is one of solve's wanted cells, as its known part and its
// unknown columns.
type solveTarget struct {
	cell      int
	known     float64
	cols      []int
	unbounded bool
	lo, hi    float64 // seen so far: the interval contains them
	// of the optima seen (solve's seen): how many moved one of its
	// columns, and the last that did
	hits, mark int32
}

// targetsByCol lists, per column, the targets holding it, in order.
type targetsByCol struct {
	start, targets []int32
}

// make indexes ts over n columns, in sc's room.
func (b *targetsByCol) make(ts []solveTarget, n int, sc *solveScratch) {
	start := grow(&sc.colStart, n+1)
	clear(start)
	for k := range ts {
		for _, c := range ts[k].cols {
			start[c+1]++
		}
	}
	for c := range n {
		start[c+1] += start[c]
	}
	targets := grow(&sc.colTargets, int(start[n]))
	fill := grow(&sc.colFill, n)
	copy(fill, start[:n])
	for k := range ts {
		for _, c := range ts[k].cols {
			targets[fill[c]] = int32(k)
			fill[c]++
		}
	}
	b.start, b.targets = start, targets
}

func (b *targetsByCol) of(c int) []int32 { return b.targets[b.start[c]:b.start[c+1]] }

// solveScratch is the room solve works in, kept by the layout: its
// problems are solved one at a time, and nothing solve returns points
// into it.
type solveScratch struct {
	col  []int
	zero []bool
	ts   []solveTarget
	cols []int
	rhs  []float64
	a    [][]float64
	obj  []float64
	tab  tableau
	// targetsByCol's
	colStart, colTargets, colFill []int32
	// fixed: split's second list, before it is copied into hints
	fixed []int32
	setup setupScratch // newIntervalProblemUpTo's
}

// grow returns (*buf)[:n], reallocated when too small; its contents are
// whatever was there: the caller sets every element it reads.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

// solveOpts are solve's shortcuts.
type solveOpts struct {
	// enough: stop working on a cell once the range seen in feasible
	// tables satisfies it; its interval is then that range, which may
	// be narrower than the true one.
	enough func(i int, lo, hi float64) bool
	// fromTrue: cells hold the hidden values, and the true table is one
	// of the tables seen (Widen's case; a report file has no such values).
	fromTrue bool
	// fewestFirst: the cells summing fewest unknowns first.
	fewestFirst bool
	// exact is told every interval computed exactly.
	exact func(Interval)
	// cutoff: stop once more than its limit of the intervals computed in
	// full are bad, returning those computed so far.
	cutoff cutoff
	// into: solve appends its intervals to it (intervalsUpTo's, one
	// measure after another).
	into []Interval
	// seenEvery: sum every cell from the one being solved on after each
	// optimum, as solve did before it summed only the cells an optimum
	// moves: the reference TestSolveReuseAsFresh holds that to.
	seenEvery bool
}

// knownZero reports whether a reader knows measure m of hidden finest
// cell c to be zero: the structural zeros of report-v2, call seconds
// outside voice and data volume outside data. Only a cell whose value is
// zero counts (an operator may send seconds with an SMS, or bytes with an
// MMS; then a reader who relied on the rule would be wrong there, and the
// ranges need not guard against a wrong belief).
func knownZero(c *ur.Cell, m ur.Measure) bool {
	switch m {
	case ur.Duration:
		return c.Service != ur.Voice && c.DurationS == 0
	case ur.Volume:
		return c.Service != ur.Data && c.VolumeBytes == 0
	}
	return false
}

// unbounded appends to out the intervals of measure m when nothing bounds
// the unknowns: every wanted hidden cell is (-Inf, +Inf).
func (p *intervalProblem) unbounded(out []Interval, cells []ur.Cell, m ur.Measure, want func(int, ur.Measure) bool) []Interval {
	p.eachRow(func(i int) {
		if cells[i].Suppression.Hidden() && (want == nil || want(i, m)) {
			out = append(out, Interval{Cell: i, Measure: m, Lo: math.Inf(-1), Hi: math.Inf(1)})
		}
	})
	return out
}

// optimum minimises obj·x over the polytope {x >= 0 : a x = rhs}. The
// polytope is the same for every objective of a measure: its tableau is
// set up once (*tab), and each objective starts from the previous one's
// optimum.
func (p *intervalProblem) optimum(obj []float64, a [][]float64, rhs []float64, n int, tab **tableau) (float64, []float64, error) {
	if len(p.rows) == 0 || n == 0 {
		return 0, make([]float64, n), nil
	}
	if *tab == nil {
		// The layout's tableau: its problems, and their measures, are
		// solved one at a time.
		t := &p.l.solveBuf.tab
		if err := t.reset(a, rhs, n); err != nil {
			return 0, nil, err
		}
		*tab = t
	}
	return (*tab).minimise(obj)
}

// seenMin is math.Min(a, b), with the common case (distinct, ordered, not
// zero) done without the call: math.Min is not inlined on amd64, and the
// widening of seen ranges calls it once per cell per optimum. NaN and
// signed zeros go to math.Min, so the result is the same bit for bit.
func seenMin(a, b float64) float64 {
	if b < a && b != 0 {
		return b
	}
	if a < b && a != 0 {
		return a
	}
	return math.Min(a, b)
}

// seenMax is math.Max(a, b) as seenMin is math.Min.
func seenMax(a, b float64) float64 {
	if b > a && b != 0 {
		return b
	}
	if a > b && a != 0 {
		return a
	}
	return math.Max(a, b)
}
