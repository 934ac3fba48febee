package aggregate

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	ur "usagereport"
)

// Measure names an additive measure of a cell.
type Measure int

// The additive measures, in report order.
const (
	Events Measure = iota
	Duration
	Volume
	Charge
	NumMeasures
)

func (m Measure) String() string {
	switch m {
	case Events:
		return "events"
	case Duration:
		return "duration_s"
	case Volume:
		return "volume_bytes"
	case Charge:
		return "charge"
	}
	return fmt.Sprintf("Measure(%d)", int(m))
}

// Value returns measure m of c, charge in units of 1/10000 NOK.
func (m Measure) Value(c *ur.Cell) int64 {
	switch m {
	case Events:
		return c.Events
	case Duration:
		return c.DurationS
	case Volume:
		return c.VolumeBytes
	default:
		return int64(c.Charge)
	}
}

// Interval is the range [Lo, Hi] a reader can narrow one measure of a
// hidden cell to, from the published cells and the fact that no finest
// cell is negative. Hi is +Inf when nothing bounds it.
type Interval struct {
	Cell    int // index into the cells
	Measure Measure
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
func Intervals(cells []ur.Cell, want func(i int, m Measure) bool) ([]Interval, error) {
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
func NarrowestInterval(cells []ur.Cell, m Measure) (iv Interval, ok bool, err error) {
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

// intervals computes the problem's intervals of the wanted cells, every
// measure. With cfg non-nil it is the version for Widen: it stops working
// on an interval as soon as feasible tables show it wide enough
// (Protected), so an interval that is wide enough may come back narrower
// than it is.
func (p *intervalProblem) intervals(cells []ur.Cell, want func(i int, m Measure) bool, cfg *Config) ([]Interval, error) {
	var out []Interval
	for m := range NumMeasures {
		var enough func(i int, lo, hi float64) bool
		if cfg != nil {
			enough = func(i int, lo, hi float64) bool {
				return Protected(Interval{Cell: i, Measure: m, Lo: lo, Hi: hi}, m.Value(&cells[i]), p.l.upperCap(cells, i, m), *cfg)
			}
		}
		ivs, err := p.solve(cells, m, want, solveOpts{enough: enough, fromTrue: enough != nil})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		out = append(out, ivs...)
	}
	return out, nil
}

// intervalProblem is the structure shared by all measures: which finest
// cells are unknown, and which published cells constrain them.
//
// A local problem takes the finest cells of some cost centres only
// (blocks) as unknowns and fixes every other hidden finest cell at its
// true value: the true table with any solution of the local problem in
// place of those blocks is a table the published cells allow, so a local
// interval lies inside the reader's true one. What it shows wide enough
// is wide enough; what it shows narrow may be wider.
type intervalProblem struct {
	l       *layout
	blocks  []int32         // the cost centres whose finest cells enter
	local   bool            // blocks is not every cost centre
	rest    [][dim]int64    // local: per measure, per finest position, the sum over the other cost centres
	slot    map[int32]int32 // local: cost centre -> its index in blocks (else the identity)
	at      [][dim]int32    // per index in blocks and position: 1+unknown, -1-cell index of a published finest cell, or 0
	varCell []int32         // per unknown: its cell
	cells   []int32         // local: the cells of its cost centres and the global ones, in order (eachRow)
	rows    []int           // published cells whose equations are independent
	// per row: the unknowns it sums, and the published finest cells
	rowVars, rowFixed [][]int32
	// the hidden cells of the problem (eachRow order), each split the
	// same way; made by the first solve
	hidden                  []int32
	hiddenVars, hiddenFixed [][]int32
	free                    []bool // unknowns in no equation
	nvars                   int
}

// newIntervalProblem sets up the problem over the finest cells of blocks,
// or of every cost centre when blocks is nil. l is cells' layout, or nil.
func newIntervalProblem(cells []ur.Cell, l *layout, blocks []int32) (*intervalProblem, error) {
	return newIntervalProblemUpTo(cells, l, blocks, MaxIntervalUnknowns)
}

// newIntervalProblemUpTo is newIntervalProblem with its own bound on the
// unknowns.
func newIntervalProblemUpTo(cells []ur.Cell, l *layout, blocks []int32, limit int) (*intervalProblem, error) {
	if l == nil {
		l = newLayout(cells)
	}
	p := &intervalProblem{l: l}
	if blocks == nil {
		for b := range l.ccs {
			p.blocks = append(p.blocks, int32(b))
		}
	} else {
		p.blocks = blocks
		p.local = len(blocks) < len(l.ccs)
	}
	p.at = make([][dim]int32, len(p.blocks))
	const finest = ur.ByCostCentre | finestSet
	if p.local {
		// The finest cells of the other cost centres, per position: all
		// of them less the problem's own.
		p.slot = make(map[int32]int32, len(p.blocks))
		p.rest = slices.Clone(l.columnSums(cells))
	}
	for k, b := range p.blocks {
		if p.local {
			p.slot[b] = int32(k)
		}
		for _, i := range l.ccs[b].cells {
			if cells[i].Set != finest {
				continue
			}
			j := lowBit(l.mask[i])
			if p.local {
				for m := range NumMeasures {
					p.rest[m][j] -= m.Value(&cells[i])
				}
			}
			at := &p.at[k][j]
			if cells[i].Suppression.Hidden() {
				p.nvars++
				*at = int32(p.nvars)
				p.varCell = append(p.varCell, i)
			} else {
				*at = -1 - i
			}
		}
	}
	if p.nvars > limit {
		return nil, fmt.Errorf("%d hidden finest cells: %w", p.nvars, ErrTooLarge)
	}
	// Choose independent equations, exactly, so that the simplex gets a
	// matrix of full row rank.
	used := make([]bool, p.nvars)
	var basis [][]uint64
	var pivots []int
	// The positions holding unknowns, per cost centre and over all: a
	// cell with none of them gives no equation.
	var anyVar uint16
	varMask := make(map[int32]uint16, len(p.blocks))
	for k, b := range p.blocks {
		for j := range dim {
			if p.at[k][j] > 0 {
				varMask[b] |= 1 << j
			}
		}
		anyVar |= varMask[b]
	}
	// The basis rows live in one slab; a candidate row is reduced in
	// scratch and copied there only when it is independent.
	slab := l.scratchBasis(p.nvars)
	scratch := make([]uint64, p.nvars)
	ints := make([]int32, 0, 256)
	seenVars := make(map[uint64]struct{}, 64)
	var vars, fixed []int32
	// The total's equation comes last when it hides a measure: the
	// programs of that measure drop it, and the equations chosen before
	// it must then still stand for every other published cell.
	deferTotal := l.total >= 0 && cells[l.total].HiddenMeasures != 0
	consider := func(i int) {
		if cells[i].Suppression.Hidden() || cells[i].Set == finest || len(basis) == p.nvars {
			return
		}
		// A cell whose unknowns are those of an earlier one gives the
		// same equation's left side: dependent, skip it unreduced.
		b := l.block[i]
		mask := l.mask[i] & anyVar
		if b >= 0 {
			mask = l.mask[i] & varMask[b]
		}
		key := uint64(uint32(b))<<32 | uint64(mask)
		if mask == 0 {
			return
		}
		if _, ok := seenVars[key]; ok {
			return
		}
		seenVars[key] = struct{}{}
		vars, fixed = p.split(i, vars[:0], fixed[:0])
		if len(vars) == 0 {
			return
		}
		r := scratch
		clear(r)
		for _, v := range vars {
			r[v] = 1
		}
		piv := reduceBy(r, basis, pivots)
		if piv < 0 {
			return
		}
		// Echelon form is enough for reduceBy: a row has zeros at the
		// pivots of the rows before it, so reducing in order clears them.
		kept := slab[len(basis)*p.nvars : (len(basis)+1)*p.nvars]
		clear(kept)
		inv := invMod(r[piv])
		for j := piv; j < len(r); j++ {
			if r[j] != 0 {
				kept[j] = mulMod(r[j], inv)
			}
		}
		basis = append(basis, kept)
		pivots = append(pivots, piv)
		p.rows = append(p.rows, i)
		n := len(ints)
		ints = append(ints, vars...)
		ints = append(ints, fixed...)
		p.rowVars = append(p.rowVars, ints[n:n+len(vars):n+len(vars)])
		p.rowFixed = append(p.rowFixed, ints[n+len(vars):len(ints):len(ints)])
		for _, v := range vars {
			used[v] = true
		}
	}
	p.eachRow(func(i int) {
		if !(deferTotal && i == l.total) {
			consider(i)
		}
	})
	if deferTotal {
		consider(l.total)
	}
	p.free = make([]bool, p.nvars)
	for j := range used {
		p.free[j] = !used[j]
	}
	return p, nil
}

// eachRow calls f for every cell the problem's equations may come from,
// in cell order: all cells, or for a local problem those of its cost
// centres and the global ones.
func (p *intervalProblem) eachRow(f func(i int)) {
	if !p.local {
		for i := range p.l.mask {
			f(i)
		}
		return
	}
	if p.cells == nil {
		for _, b := range p.blocks {
			p.cells = append(p.cells, p.l.ccs[b].cells...)
		}
		p.cells = append(p.cells, p.l.global.cells...)
		slices.Sort(p.cells)
	}
	for _, i := range p.cells {
		f(int(i))
	}
}

// slotOf returns the index in blocks of cell i's cost centre, if it is
// one of the problem's.
func (p *intervalProblem) slotOf(i int) (int32, bool) {
	b := p.l.block[i]
	if b < 0 {
		return -1, false
	}
	if !p.local {
		return b, true
	}
	k, ok := p.slot[b]
	return k, ok
}

// restOf returns the part of measure m of cell i that lies in the fixed
// cost centres (local problems, global cells).
func (p *intervalProblem) restOf(i int, m Measure) int64 {
	if !p.local || p.l.block[i] >= 0 {
		return 0
	}
	var s int64
	for j := range dim {
		if p.l.mask[i]&(1<<j) != 0 {
			s += p.rest[m][j]
		}
	}
	return s
}

func lowBit(m uint16) int {
	for j := range dim {
		if m&(1<<j) != 0 {
			return j
		}
	}
	return -1
}

// split appends to vars the unknowns cell i sums and to fixed its
// published finest cells (finest cells absent from the report are zero).
func (p *intervalProblem) split(i int, vars, fixed []int32) ([]int32, []int32) {
	l := p.l
	lo, hi := int32(0), int32(len(p.blocks))
	if l.block[i] >= 0 {
		k, ok := p.slotOf(i)
		if !ok {
			return vars, fixed
		}
		lo, hi = k, k+1
	}
	for k := lo; k < hi; k++ {
		at := &p.at[k]
		for m := l.mask[i]; m != 0; m &= m - 1 {
			switch x := at[bits.TrailingZeros16(m)]; {
			case x > 0:
				vars = append(vars, x-1)
			case x < 0:
				fixed = append(fixed, -1-x)
			}
		}
	}
	return vars, fixed
}

// solve computes the intervals of one measure.
//
// With enough non-nil, an interval may come back narrower than the true
// one (never wider): a cell stops being worked on once enough(cell, lo, hi)
// holds for the range seen in feasible tables. The true values must then
// be in cells.
func (p *intervalProblem) solve(cells []ur.Cell, m Measure, want func(int, Measure) bool, opt solveOpts) ([]Interval, error) {
	enough := opt.enough
	// Columns: the unknowns that some equation holds and that the reader
	// does not know to be zero. Free ones only raise the upper bound of the
	// cells holding them to +Inf.
	col := make([]int, p.nvars)
	zero := make([]bool, p.nvars)
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
	if m == Charge && p.l.credit(cells) {
		// A credit: charges are not all non-negative, so a reader
		// leaning on it is wrong, and without it an undetermined charge
		// is unbounded.
		return p.unbounded(cells, m, want), nil
	}
	// A finest cell in the report has at least one event: a reader knows
	// that much of every hidden one. For events the unknowns are shifted
	// by that 1 (x = 1 + y, y >= 0).
	floor := 0.0
	if m == Events {
		floor = 1
	}
	// The wanted cells, each as its known part and its unknown columns.
	type target struct {
		cell      int
		known     float64
		cols      []int
		unbounded bool
		lo, hi    float64 // seen so far: the interval contains them
	}
	var ts []target
	if p.hidden == nil {
		p.hidden = []int32{}
		p.eachRow(func(i int) {
			if cells[i].Suppression.Hidden() || (i == p.l.total && cells[i].HiddenMeasures != 0) {
				p.hidden = append(p.hidden, int32(i))
			}
		})
		p.hiddenVars = make([][]int32, len(p.hidden))
		p.hiddenFixed = make([][]int32, len(p.hidden))
	}
	for h, i32 := range p.hidden {
		i := int(i32)
		if (want != nil && !want(i, m)) || (i == p.l.total && !hides(&cells[i], m)) {
			continue
		}
		if p.hiddenVars[h] == nil {
			p.hiddenVars[h], p.hiddenFixed[h] = p.split(i, []int32{}, nil)
		}
		t := target{cell: i, known: float64(p.restOf(i, m))}
		for _, j := range p.hiddenVars[h] {
			if zero[j] {
				continue
			}
			t.known += floor
			if col[j] < 0 {
				t.unbounded = true
			} else {
				t.cols = append(t.cols, col[j])
			}
		}
		for _, k := range p.hiddenFixed[h] {
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
		return nil, nil // no program to solve
	}
	if opt.fewestFirst {
		slices.SortStableFunc(ts, func(x, y target) int { return cmp.Compare(len(x.cols), len(y.cols)) })
	}
	rhs := make([]float64, len(p.rows))
	a := make([][]float64, len(p.rows))
	slab := p.l.scratchMatrix(len(p.rows) * n)
	for r, i := range p.rows {
		a[r] = slab[r*n : (r+1)*n : (r+1)*n]
		if i == p.l.total && hides(&cells[i], m) {
			continue // no equation: the total does not show m (dropped below)
		}
		v := float64(m.Value(&cells[i]) - p.restOf(i, m))
		for _, j := range p.rowVars[r] {
			if !zero[j] {
				v -= floor
				a[r][col[j]] = 1
			}
		}
		for _, k := range p.rowFixed[r] {
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
	// range is already wide enough needs no programs of its own.
	seen := func(x []float64) {
		for k := range ts {
			t := &ts[k]
			v := t.known
			for _, c := range t.cols {
				v += x[c] * scale
			}
			t.lo, t.hi = math.Min(t.lo, v), math.Max(t.hi, v)
		}
	}
	var tab *tableau
	obj := make([]float64, n)
	out := make([]Interval, 0, len(ts))
	for k := range ts {
		t := &ts[k]
		iv := Interval{Cell: t.cell, Measure: m, Lo: t.known, Hi: t.known}
		if len(t.cols) > 0 {
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
				return p.unbounded(cells, m, want), nil
			}
			if err != nil {
				return nil, fmt.Errorf("cell %s: %w: %w", CellName(&cells[t.cell]), ErrUnsolved, err)
			}
			seen(x)
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
			seen(x)
			iv.Lo += lo * scale
			iv.Hi += -hi * scale
		}
		if t.unbounded {
			iv.Hi = math.Inf(1)
		}
		if opt.exact != nil {
			opt.exact(iv)
		}
		out = append(out, iv)
	}
	return out, nil
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
}

// knownZero reports whether a reader knows measure m of hidden finest
// cell c to be zero: the structural zeros of report-v2, call seconds
// outside voice and data volume outside data. Only a cell whose value is
// zero counts (an operator may send seconds with an SMS, or bytes with an
// MMS; then a reader who relied on the rule would be wrong there, and the
// ranges need not guard against a wrong belief).
func knownZero(c *ur.Cell, m Measure) bool {
	switch m {
	case Duration:
		return c.Service != ur.Voice && c.DurationS == 0
	case Volume:
		return c.Service != ur.Data && c.VolumeBytes == 0
	}
	return false
}

// unbounded returns the intervals of measure m when nothing bounds the
// unknowns: every wanted hidden cell is (-Inf, +Inf).
func (p *intervalProblem) unbounded(cells []ur.Cell, m Measure, want func(int, Measure) bool) []Interval {
	var out []Interval
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
		t, err := newTableau(a, rhs, n)
		if err != nil {
			return 0, nil, err
		}
		*tab = t
	}
	return (*tab).minimise(obj)
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
	if iv.Measure == Events {
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
func Sensitive(c *ur.Cell, m Measure, cfg Config) bool {
	switch c.Suppression {
	case ur.Published:
		return c.Set == 0 && hides(c, m)
	case ur.HiddenSmall:
		return true
	case ur.HiddenDominance:
		var d int
		switch m {
		case Charge:
			d = ur.MeasureCharge
		case Duration:
			d = ur.MeasureDuration
		case Volume:
			d = ur.MeasureVolume
		default:
			return false
		}
		return dominated(measureTotal(c, d), c.Top1[d], c.Top2[d], dominancePPM(cfg.WithDefaults().DominanceP))
	}
	return false
}

// pairSet is a set of (cell, measure) pairs: per cell, a bit per measure.
type pairSet []uint8

func (s pairSet) add(i int, m Measure)      { s[i] |= 1 << m }
func (s pairSet) remove(i int, m Measure)   { s[i] &^= 1 << m }
func (s pairSet) has(i int, m Measure) bool { return s[i]&(1<<m) != 0 }
func (s pairSet) any() bool                 { return slices.ContainsFunc(s, func(b uint8) bool { return b != 0 }) }

// maxWidenRounds bounds Widen; each round hides at least one cell.
const maxWidenRounds = 25

// maxWidenTrials bounds the moves Widen tries for one report, each a
// linear program with the move made in place; maxWidenTrialsSmall for a
// report small enough for one program of the whole (maxWidenUnknowns),
// whose programs take microseconds.
const (
	maxWidenTrials      = 20
	maxWidenTrialsSmall = 200
)

// maxWidenUnknowns bounds the reports Widen solves one linear program of
// the whole report for; above it, it solves local ones (see
// intervalProblem).
const maxWidenUnknowns = 60

func widenEps(v float64) float64 { return 1e-6 * math.Max(1, math.Abs(v)) }

// Widen makes the intervals of the primary cells wide enough (see
// Protected): while one is not, it hides a published cell that shares an
// equation with it and holds enough of the measure to widen the range
// (the cheapest such), and runs Secondary again where a cell it hid is
// itself given away, so that the pattern stays exact-safe. It returns how many (cell, measure) pairs are still too
// narrow when it stops. A report with more than maxWidenUnknowns hidden
// finest cells is judged by local problems (LocalIntervals), whose ranges
// lie inside the reader's: what they show wide enough is, and a pair they
// leave narrow may be wider. Its effort is bounded (maxWidenRounds,
// maxWidenTrials): it is a best effort on top of the exact guarantee,
// which Audit checks.
func Widen(cells []ur.Cell, cfg Config) (narrow int, err error) {
	narrow, _, err = widen3(cells, cfg)
	return narrow, err
}

// widen3 is Widen that also returns the (cell, measure) pairs it left too
// narrow, when there are any.
func widen3(cells []ur.Cell, cfg Config) (narrow int, left pairSet, err error) {
	if len(cells) == 0 {
		return 0, nil, nil
	}
	unknowns := 0
	for i := range cells {
		if cells[i].Set == ur.ByCostCentre|finestSet && cells[i].Suppression.Hidden() {
			unknowns++
		}
	}
	// The cheap ranges first: they settle most cases, for reports of any
	// size, and leave the linear programs less to do.
	narrow = widenByBounds(cells, cfg)
	l := newLayout(cells)
	l.costs = cfg.costs
	local := unknowns > maxWidenUnknowns
	intervals := func(cells []ur.Cell, want func(int, Measure) bool, round int) ([]Interval, error) {
		if local {
			// After the first round every pending pair was found
			// narrow by the smaller programs: go straight to the larger.
			return l.localIntervals(cells, want, &cfg, round > 0)
		}
		p, err := newIntervalProblem(cells, l, nil)
		if err != nil {
			return nil, err
		}
		return p.intervals(cells, want, &cfg)
	}
	intervalOf := func(cells []ur.Cell, h int, m Measure) (Interval, error) {
		if local {
			return l.localIntervalOf(cells, h, m)
		}
		return l.intervalOf(cells, h, m, nil)
	}
	trials := maxWidenTrialsSmall
	if local {
		trials = maxWidenTrials
	}
	p := cfg.WithDefaults().DominanceP / 100
	// Hiding more only removes equations, so an interval never narrows:
	// what is wide enough once stays so, and later rounds look only at the
	// intervals that were not.
	pending := make(pairSet, len(cells))
	for i := range cells {
		for m := range NumMeasures {
			if Sensitive(&cells[i], m, cfg) {
				pending.add(i, m)
			}
		}
	}
	for round := 0; pending.any(); round++ {
		ivs, err := intervals(cells, pending.has, round)
		if err != nil {
			return 0, nil, err
		}
		narrow = 0
		var hid []int
		touched := map[[2]int32]bool{}
		for _, iv := range ivs {
			h := iv.Cell
			v := iv.Measure.Value(&cells[h])
			if Protected(iv, v, l.upperCap(cells, h, iv.Measure), cfg) {
				pending.remove(h, iv.Measure)
				continue
			}
			narrow++
			if round == maxWidenRounds {
				continue
			}
			fv, ft := float64(v), float64(l.upperCap(cells, h, iv.Measure))
			hiWant, loWant := min(fv+1, ft), fv-1
			if iv.Measure != Events {
				hiWant, loWant = min(fv*(1+p), ft), fv*(1-p)
			}
			if touched[[2]int32{l.block[h], int32(iv.Measure)}] {
				continue // one move per cost centre and measure a round: it may be enough for the others
			}
			after := Interval{Lo: math.NaN()}
			if u := l.widener(cells, h, iv.Measure, iv, hiWant, loWant, &trials, intervalOf, &after); u >= 0 {
				cells[u].Suppression = ur.HiddenSecondary
				hid = append(hid, u)
				touched[[2]int32{l.block[h], int32(iv.Measure)}] = true
				if !math.IsNaN(after.Lo) && Protected(after, v, l.upperCap(cells, h, iv.Measure), cfg) {
					// The trial showed it: the range is wide enough now,
					// and hiding more keeps it so.
					pending.remove(h, iv.Measure)
					narrow--
				}
			}
		}
		if len(hid) == 0 {
			return narrow, pending, nil
		}
		// Hiding a cell leaves every other hidden cell as undetermined
		// as it was (the tables that kept it so still fit); only the
		// newly hidden ones may be given away, and only then is there
		// work for Secondary.
		if l.anyDetermined(cells, hid) {
			secondaryBy(cells, cfg.costs)
		}
	}
	return 0, nil, nil
}

// widener picks the published cell to hide to widen h's interval of
// measure m, or -1. First a cell whose value caps the interval: a published
// cell containing h with less than the wanted upper end, or one inside h
// with more than the wanted lower end (the cheapest). Otherwise the
// cheapest published cell sharing an equation with h (same block and
// overlapping, a global cell overlapping, or h's shape in another cost
// centre) that holds at least need of the measure, so that it can trade
// with h, found by trying.
//
// When a trial showed the move's effect, *after is h's interval with the
// move made (before Secondary, which can only widen it further);
// otherwise *after is left alone.
func (l *layout) widener(cells []ur.Cell, h int, m Measure, before Interval, hiWant, loWant float64, trials *int, intervalOf func([]ur.Cell, int, Measure) (Interval, error), after *Interval) int {
	best := -1
	pick := func(i int) {
		if best < 0 || l.costCmp(&cells[i], &cells[best]) < 0 {
			best = i
		}
	}
	open := func(i int) bool {
		return i != h && !cells[i].Suppression.Hidden() && !l.fixed(cells, i)
	}
	// The related cells are h's own block's, the global ones, and h's
	// shape in the other cost centres. The first two are few; the last
	// come from the layout's shape index, cheapest first, only as far as
	// they are needed (a report may have 100,000 cost centres, and this
	// runs for every interval found too narrow). For the total's own
	// measure (hidden by the p%-rule) every cell is near: any may bound it.
	near := func(f func(i int)) {
		if h == l.total {
			for i := range cells {
				f(i)
			}
			return
		}
		if b := l.block[h]; b >= 0 {
			for _, i := range l.ccs[b].cells {
				f(int(i))
			}
		}
		for _, i := range l.global.cells {
			f(int(i))
		}
	}
	mh := l.mask[h]
	// Only h's block and the global cells can cap or lift h's range.
	near(func(i int) {
		if !open(i) {
			return
		}
		sameOrGlobal := l.block[i] == l.block[h] || l.block[i] < 0
		v := float64(m.Value(&cells[i]))
		switch {
		case sameOrGlobal && l.mask[i]&mh == mh && v < hiWant:
			pick(i) // caps the upper end
		case l.block[i] == l.block[h] && l.mask[i]&mh == l.mask[i] && v > loWant:
			pick(i) // lifts the lower end
		}
	})
	if best >= 0 {
		return best
	}
	// Otherwise try the related cells, cheapest first, and take the first
	// whose hiding moves the bound that falls short: the equations that
	// bind an optimum are not always the obvious ones (total - domestic
	// bounds eu_eea + world).
	cheaper := func(a, b int) int {
		if c := l.costCmp(&cells[a], &cells[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	var nearCands []int
	near(func(i int) {
		if open(i) && m.Value(&cells[i]) > 0 {
			nearCands = append(nearCands, i)
		}
	})
	slices.SortFunc(nearCands, cheaper)
	shapeNext := func() int { return -1 } // the next open cell of h's shape elsewhere, or -1
	if h != l.total {
		shape := l.shapeIndexOf(cells).iter(mh)
		shapeNext = func() int {
			for {
				i := shape.peek()
				if i < 0 {
					return -1
				}
				if cells[i].Suppression.Hidden() || l.fixed(cells, i) {
					shape.drop() // for good: see shapeIndex
					continue
				}
				shape.skip()
				if i != h && l.block[i] != l.block[h] && m.Value(&cells[i]) > 0 {
					return i
				}
			}
		}
	}
	// cands are the candidates in order (costCmp, then index), made as
	// far as needed: more appends the next one, or reports the end.
	var cands []int
	ni, si := 0, -2 // si: the next shape cell, -2 before it is looked up
	more := func() bool {
		if si == -2 {
			si = shapeNext()
		}
		switch {
		case ni < len(nearCands) && (si < 0 || cheaper(nearCands[ni], si) < 0):
			cands = append(cands, nearCands[ni])
			ni++
		case si >= 0:
			cands = append(cands, si)
			si = -2
		default:
			return false
		}
		return true
	}
	try := func(u int) bool {
		*trials--
		// Hiding u alone (tried in place, then undone): Secondary may
		// hide more with it, which only widens further, so a move that
		// helps alone helps.
		was := cells[u].Suppression
		cells[u].Suppression = ur.HiddenSecondary
		iv, err := intervalOf(cells, h, m)
		cells[u].Suppression = was
		if err != nil {
			return false
		}
		if (before.Hi < hiWant && iv.Hi > before.Hi+widenEps(before.Hi)) ||
			(before.Lo > loWant && iv.Lo < before.Lo-widenEps(before.Lo)) {
			*after = iv
			return true
		}
		return false
	}
	k := 0
	for ; *trials > 0; k++ {
		if k == len(cands) && !more() {
			break
		}
		if try(cands[k]) {
			return cands[k]
		}
	}
	if *trials > 0 && k == len(cands) && len(cells) <= widenFarCells {
		// Then the cells of other cost centres: with the structural zeros
		// a reader knows, a cost centre's published cell of another shape
		// can bound h too (total - Salg domestic = Lager data + Salg data
		// world, when only data has bytes). A cell of none of the measure
		// bounds the others at zero: hiding it can lower a lower end.
		// This scans every cell, so only reports up to widenFarCells cells
		// get it: in larger ones (thousands of cost centres) it would make
		// Widen quadratic, and their ranges are bounded by h's shape.
		in := make([]bool, len(cells))
		for _, u := range cands {
			in[u] = true
		}
		var far []int
		for i := range cells {
			if !in[i] && open(i) && m.Value(&cells[i]) >= 0 {
				far = append(far, i)
			}
		}
		slices.SortFunc(far, cheaper)
		for _, u := range far {
			if *trials <= 0 {
				break
			}
			if try(u) {
				return u
			}
		}
	}
	// No move tried helps alone (two equations bind at once, or the
	// trials ran out): hide the cheapest related cell that holds what the
	// range falls short by, else the one holding most of the measure,
	// and try again next round.
	need := max(hiWant-before.Hi, before.Lo-loWant, 1)
	best = -1
	for k := 0; ; k++ { // cheapest first
		if k == len(cands) && !more() {
			break
		}
		u := cands[k]
		if float64(m.Value(&cells[u])) >= need {
			return u
		}
		if best < 0 || m.Value(&cells[u]) > m.Value(&cells[best]) {
			best = u
		}
	}
	return best
}

// shapeIndex lists the cost-centre cells of each shape (mask of finest
// positions), cheapest first (costCmp, then index), for widener. It is
// made once per layout: values do not change while a layout is in use.
//
// A cell found hidden or fixed is dropped for good, by skip pointers, so
// that cost centres whose cells are all hidden (the many tiny ones of a
// large employer) are passed over once per Widen, not once per interval.
// That relies on what Widen does with its layout: within one Widen a
// cell is only ever hidden, never published again (Widen and Secondary
// only hide, and widener's trial moves are undone before it looks for the
// next candidate). A cell dropped wrongly would only be missed as a
// candidate, never published.
type shapeIndex struct {
	at   map[uint16][2]int32 // per mask: its range in list
	list []int32
	next []int32 // per position in list: next[k] == k, or a later one to look at instead
}

func (l *layout) shapeIndexOf(cells []ur.Cell) *shapeIndex {
	if l.shapes != nil {
		return l.shapes
	}
	x := &shapeIndex{at: map[uint16][2]int32{}}
	count := map[uint16]int32{}
	for c := range l.ccs {
		for _, i := range l.ccs[c].cells {
			count[l.mask[i]]++
		}
	}
	masks := make([]uint16, 0, len(count))
	for m := range count {
		masks = append(masks, m)
	}
	slices.Sort(masks)
	var n int32
	for _, m := range masks {
		x.at[m] = [2]int32{n, n}
		n += count[m]
	}
	x.list = make([]int32, n)
	for c := range l.ccs {
		for _, i := range l.ccs[c].cells {
			r := x.at[l.mask[i]]
			x.list[r[1]] = i
			r[1]++
			x.at[l.mask[i]] = r
		}
	}
	for _, r := range x.at {
		slices.SortFunc(x.list[r[0]:r[1]], func(a, b int32) int {
			if c := l.costCmp(&cells[a], &cells[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
	}
	x.next = make([]int32, n+1)
	for k := range x.next {
		x.next[k] = int32(k)
	}
	l.shapes = x
	return x
}

// find returns the first position at or after k not dropped.
func (x *shapeIndex) find(k int32) int32 {
	for x.next[k] != k {
		x.next[k] = x.next[x.next[k]] // path halving
		k = x.next[k]
	}
	return k
}

// shapeIter walks the cells of one shape, cheapest first.
type shapeIter struct {
	x      *shapeIndex
	k, end int32
}

func (x *shapeIndex) iter(m uint16) shapeIter {
	r, ok := x.at[m]
	if !ok {
		return shapeIter{x: x}
	}
	return shapeIter{x: x, k: r[0], end: r[1]}
}

// peek returns the current cell, or -1 at the end.
func (it *shapeIter) peek() int {
	if it.x.list == nil {
		return -1
	}
	it.k = it.x.find(it.k)
	if it.k >= it.end {
		return -1
	}
	return int(it.x.list[it.k])
}

// skip moves past the current cell.
func (it *shapeIter) skip() { it.k++ }

// drop moves past the current cell and drops it from the index.
func (it *shapeIter) drop() {
	it.x.next[it.k] = it.k + 1
	it.k++
}

// widenFarCells is the largest report (in cells) whose widener, when the
// related cells fail, tries every other published cell.
const widenFarCells = 4096

// reduceBy subtracts from v, modulo the prime, the multiples of the basis
// rows that clear their pivots (row k has a 1 at pivots[k]), and returns
// the index of v's first non-zero entry, or -1 when v is in their span.
func reduceBy(v []uint64, basis [][]uint64, pivots []int) int {
	for k, b := range basis {
		// b is zero before its pivot.
		if f := v[pivots[k]]; f != 0 {
			for j := pivots[k]; j < len(v); j++ {
				if b[j] != 0 {
					v[j] = subMod(v[j], mulMod(f, b[j]))
				}
			}
		}
	}
	for j, x := range v {
		if x != 0 {
			return j
		}
	}
	return -1
}
