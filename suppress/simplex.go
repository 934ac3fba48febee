package suppress

import (
	"errors"
	"math"
)

// The linear programs of the interval check are small (tens of unknowns,
// 0/1 coefficients) and many: one polytope per problem and measure, two
// objectives per hidden cell. A dense tableau suits them: phase I once per
// polytope, then each objective starts from the previous optimum's basis,
// usually a few pivots away. (gonum's lp.Simplex refactorises and
// estimates a condition number at every step and has no phase I to keep;
// the interval tests check this one against it.)

var (
	errInfeasible = errors.New("linear program infeasible")
	errUnbounded  = errors.New("linear program unbounded")
	errStalled    = errors.New("linear program: too many pivots")
)

// simplexTol is the tolerance of the tableau's comparisons with zero. The
// right-hand sides are scaled to at most 1 and the coefficients are 0 or 1.
const simplexTol = 1e-9

// tableau is {x >= 0 : A x = b} in canonical form for a feasible basis:
// row i reads x[basis[i]] + sum over non-basic j of t[i][j] x[j] = t[i][n].
type tableau struct {
	m, n  int
	t     []float64 // m rows of n+1 entries
	basis []int
	cost  []float64 // reduced costs of the current objective, n+1 entries (the last: minus its value)
	nz    []int     // scratch: the pivot row's non-zero columns
	nzv   []float64 // scratch: its entries there
	hit   []int     // scratch: the rows with a non-zero entry in the pivot column (run's ratio test)
	// unchecked is the row whose right-hand side changed (scaled as the
	// pivot row) without being checked for rounding below zero since, or
	// -1: every other row's was checked after it last changed (see pivot).
	unchecked int
	x         []float64 // the vertex minimise returns, valid until its next call
	memo      phase1Memo
}

func (t *tableau) row(i int) []float64 { return t.t[i*(t.n+1) : (i+1)*(t.n+1)] }

// newTableau finds a feasible basis of {x >= 0 : A x = b} (phase I, with
// one artificial variable per row), or returns errInfeasible. a has m rows
// of n entries; rows that repeat others are dropped.
func newTableau(a [][]float64, b []float64, n int) (*tableau, error) {
	t := new(tableau)
	if err := t.reset(a, b, n); err != nil {
		return nil, err
	}
	return t, nil
}

// reset is newTableau in t's room: its slices are reused when large
// enough (solve sets up one tableau per problem and measure, mostly of a
// few rows, and allocating them was a tenth of the programs' time). On an
// error t holds nothing useful.
//
// Phase I of a polytope t has set up recently is not run again: t
// remembers its outcome (see phase1Memo). A third of the polytopes of a
// report on the second generator's data were ones their layout's tableau
// had set up a few problems before, and phase I was four fifths of the
// programs' pivots.
func (t *tableau) reset(a [][]float64, b []float64, n int) error {
	if e := t.memo.find(a, b, n); e != nil {
		return t.recall(e)
	}
	err := t.phase1(a, b, n)
	t.memo.keep(t, a, b, n, err)
	return err
}

// phase1 is reset without the memo.
func (t *tableau) phase1(a [][]float64, b []float64, n int) error {
	m := len(a)
	// Row i starts with its artificial variable basic, recorded as n+i.
	// Its column, the unit vector, is never stored: an artificial
	// variable that leaves the basis is never let back in, and one still
	// basic keeps its unit column whatever the other rows do.
	t.m, t.n = m, n
	t.t = grow(&t.t, m*(n+1))
	t.basis = grow(&t.basis, m)
	t.cost = grow(&t.cost, n+1)
	clear(t.cost)
	// No right-hand side is below zero to begin with (b's sign is taken
	// into the row): none needs checking for rounding.
	t.unchecked = -1
	for i := range m {
		r := t.row(i)
		sign := 1.0
		if b[i] < 0 {
			sign = -1
		}
		// Minimise the sum of the artificial variables: the reduced
		// cost of a structural column is minus the sum of its entries
		// (summed row after row, as the rows are made).
		ai, cost := a[i][:n], t.cost[:n+1]
		for j, v := range ai {
			v *= sign
			r[j] = v
			cost[j] -= v
		}
		r[n] = sign * b[i]
		cost[n] -= r[n]
		t.basis[i] = n + i
	}
	if err := t.run(); err != nil {
		return err
	}
	if -t.cost[n] > simplexTol*float64(max(m, 1)) {
		return errInfeasible
	}
	// Drive the artificial variables still basic (at zero) out of the
	// basis. A row with no structural entry left repeats other rows: it
	// is dropped.
	keep := 0
	for i := range m {
		r := t.row(i)
		if t.basis[i] >= n {
			best := -1
			for j := range n {
				if math.Abs(r[j]) > simplexTol && (best < 0 || math.Abs(r[j]) > math.Abs(r[best])) {
					best = j
				}
			}
			if best < 0 {
				continue
			}
			// Every row, the dropped and the moved ones' old places
			// included, as before the rows to eliminate came from the
			// ratio test.
			t.pivotAll(i, best)
		}
		if keep != i {
			copy(t.row(keep), r)
			t.basis[keep] = t.basis[i]
			if t.unchecked == i {
				t.unchecked = keep
			}
		}
		keep++
	}
	t.m, t.basis, t.t = keep, t.basis[:keep], t.t[:keep*(n+1)]
	return nil
}

// minimise minimises c·x over the tableau's polytope, starting from its
// current basis and leaving the tableau at the optimum. It returns the
// minimum and the optimal vertex, which the next call overwrites.
func (t *tableau) minimise(c []float64) (float64, []float64, error) {
	n := t.n
	copy(t.cost, c)
	t.cost[n] = 0
	for i := range t.m {
		cb := c[t.basis[i]]
		if cb == 0 {
			continue
		}
		r := t.row(i)
		for j := range n + 1 {
			t.cost[j] -= cb * r[j]
		}
	}
	if err := t.run(); err != nil {
		return 0, nil, err
	}
	x := grow(&t.x, n)
	clear(x)
	for i, j := range t.basis {
		x[j] = t.row(i)[n]
	}
	return -t.cost[n], x, nil
}

// run pivots until no reduced cost is negative: Dantzig's rule (the most
// negative), switching to Bland's (the first) after a run of degenerate
// pivots, so that it cannot cycle.
func (t *tableau) run() error {
	n := t.n
	w := n + 1
	degenerate := 0
	for iter := 0; ; iter++ {
		if iter > 50*(t.m+n)+1000 {
			return errStalled
		}
		s := -1
		cost := t.cost[:n]
		if degenerate > 2*(t.m+n) {
			for j, c := range cost {
				if c < -simplexTol {
					s = j
					break
				}
			}
		} else {
			// The most negative, the first of equals: one comparison
			// per column (a column passes it only if below -simplexTol
			// and below every one before it).
			best := -simplexTol
			for j, c := range cost {
				if c < best {
					s, best = j, c
				}
			}
		}
		if s < 0 {
			return nil
		}
		// The ratio test, listing on the way the rows that the pivot
		// changes: those with a non-zero entry in column s.
		r := -1
		var ratio float64
		hit := grow(&t.hit, t.m)
		nh := 0
		for i := range t.m {
			row := t.t[i*w : (i+1)*w : (i+1)*w]
			v := row[s]
			hit[nh] = i
			if v != 0 {
				nh++ // without a branch
			}
			if v <= simplexTol {
				continue
			}
			q := row[n] / v
			if r < 0 || q < ratio-simplexTol || (q <= ratio+simplexTol && t.basis[i] < t.basis[r]) {
				r, ratio = i, q
			}
		}
		hit = hit[:nh]
		if r < 0 {
			return errUnbounded
		}
		if ratio <= simplexTol {
			degenerate++
		} else {
			degenerate = 0
		}
		t.pivot(r, s, hit)
	}
}

// pivot makes column s basic in row r. hit lists, in order, the rows
// with a non-zero entry in column s: the other rows do not change.
//
// After every pivot a right-hand side that rounding left just below zero
// is set to zero, in every row but the pivot row; as a row that did not
// change keeps what the last such check made of it, only the changed rows
// and the one changed unchecked before (the last pivot row) are checked.
func (t *tableau) pivot(r, s int, hit []int) {
	nz, nzv := t.scalePivotRow(r, s)
	w := t.n + 1
	for _, i := range hit {
		if i == r {
			continue
		}
		row := t.t[i*w : (i+1)*w : (i+1)*w]
		eliminateRow(row, nzv, nz, s)
		flushRHS(&row[t.n])
	}
	if u := t.unchecked; u >= 0 && u != r {
		flushRHS(&t.t[u*w+t.n])
	}
	t.unchecked = r
	eliminateRow(t.cost, nzv, nz, s)
	t.basis[r] = s
}

// pivotAll is pivot over every row, for phase I's driving out of
// artificial variables (reset), where the rows are being moved.
func (t *tableau) pivotAll(r, s int) {
	nz, nzv := t.scalePivotRow(r, s)
	w := t.n + 1
	for i := range t.m {
		if i == r {
			continue
		}
		row := t.t[i*w : (i+1)*w : (i+1)*w]
		eliminateRow(row, nzv, nz, s)
		flushRHS(&row[t.n])
	}
	t.unchecked = r
	eliminateRow(t.cost, nzv, nz, s)
	t.basis[r] = s
}

// flushRHS sets a right-hand side that rounding left just below zero to
// zero: a basic variable is never negative.
func flushRHS(rhs *float64) {
	if *rhs < 0 && *rhs > -simplexTol {
		*rhs = 0
	}
}

// scalePivotRow divides row r by its entry in column s (setting that one
// to exactly 1) and returns its non-zero columns and its entries there, in
// column order: the other rows change only there (the coefficients are
// 0/1 to begin with, so the row is mostly zeros).
func (t *tableau) scalePivotRow(r, s int) ([]int, []float64) {
	pr := t.row(r)
	inv := 1 / pr[s]
	nz := grow(&t.nz, len(pr))
	k := 0
	if inv > 0 && inv <= math.MaxFloat64 {
		// Zeros times a finite positive inv are the same zeros, sign
		// included: every entry is multiplied, and the non-zero ones are
		// counted without a branch to mispredict.
		for j, v := range pr {
			pr[j] = v * inv
			nz[k] = j
			if v != 0 {
				k++
			}
		}
	} else {
		for j, v := range pr {
			if v != 0 {
				pr[j] = v * inv
				nz[k] = j
				k++
			}
		}
	}
	nz = nz[:k]
	pr[s] = 1
	// The pivot row's non-zero entries, in nz's order: read in sequence,
	// not gathered, by every row's elimination.
	nzv := grow(&t.nzv, k)
	for k, j := range nz {
		nzv[k] = pr[j]
	}
	return nz, nzv
}

// flushBits is the bit pattern of 1e-13: below it, as an unsigned
// integer, lie the bit patterns of exactly the non-negative floats below
// 1e-13 (and no NaN).
const flushBits = 0x3d3c25c268497682

// eliminateRow subtracts row[s] times the pivot row from row in the pivot
// row's non-zero columns nz (its entries there: nzv), flushing to zero
// what rounding leaves below 1e-13, and zeroes row[s]. (|v| < 1e-13 is
// tested on v's bits with the sign cleared, which holds for the same v,
// NaN never, -0 always, and gives the compiler a conditional move instead
// of a branch that exact cancellations, common in 0/1 rows, made
// unpredictable.)
func eliminateRow(row, nzv []float64, nz []int, s int) {
	f := row[s]
	if f == 0 {
		return
	}
	nzv = nzv[:len(nz)]
	for k, j := range nz {
		b := math.Float64bits(row[j] - f*nzv[k])
		if b&^(1<<63) < flushBits {
			b = 0
		}
		row[j] = math.Float64frombits(b)
	}
	row[s] = 0
}

// phase1Memo remembers the outcome of phase I for the last few polytopes
// a tableau was set up for, exactly: the same rows and right-hand sides,
// bit for bit, give the same tableau, basis and reduced costs, or the
// same error, as running phase I again would.
type phase1Memo struct {
	entries [phase1Remembered]phase1Entry
	clock   uint64
}

// phase1Remembered is how many polytopes a tableau remembers; a polytope
// of more than phase1MaxEntries entries (rows times columns) is not
// remembered.
const (
	phase1Remembered = 8
	phase1MaxEntries = 1 << 13
)

type phase1Entry struct {
	used uint64 // the memo's clock when last set up or found; 0: empty
	// the polytope: m rows of n entries (a), right-hand sides (b)
	m, n int
	a, b []float64
	// the outcome: the error, or the tableau after phase I
	err       error
	rows      int
	t, cost   []float64
	basis     []int
	unchecked int
}

// find returns the entry remembering {x >= 0 : a x = b}, or nil. The
// right-hand sides are compared first: polytopes of the same shape
// rarely share them all.
func (memo *phase1Memo) find(a [][]float64, b []float64, n int) *phase1Entry {
	m := len(a)
	for k := range memo.entries {
		e := &memo.entries[k]
		if e.used == 0 || e.m != m || e.n != n || !sameBits(e.b, b) {
			continue
		}
		found := true
		for i := range a {
			if !sameBits(e.a[i*n:(i+1)*n], a[i][:n]) {
				found = false
				break
			}
		}
		if found {
			memo.clock++
			e.used = memo.clock
			return e
		}
	}
	return nil
}

// keep remembers the outcome of phase I on {x >= 0 : a x = b}, t's
// tableau or err, in place of the entry used least recently.
func (memo *phase1Memo) keep(t *tableau, a [][]float64, b []float64, n int, err error) {
	m := len(a)
	if m*(n+1) > phase1MaxEntries {
		return
	}
	e := &memo.entries[0]
	for k := range memo.entries {
		if memo.entries[k].used < e.used {
			e = &memo.entries[k]
		}
	}
	memo.clock++
	e.used, e.m, e.n, e.err = memo.clock, m, n, err
	e.a = grow(&e.a, m*n)
	for i := range a {
		copy(e.a[i*n:(i+1)*n], a[i][:n])
	}
	e.b = append(e.b[:0], b...)
	if err != nil {
		return
	}
	e.rows, e.unchecked = t.m, t.unchecked
	e.t = append(e.t[:0], t.t[:t.m*(n+1)]...)
	e.cost = append(e.cost[:0], t.cost[:n+1]...)
	e.basis = append(e.basis[:0], t.basis[:t.m]...)
}

// recall sets t up as phase I left it on e's polytope.
func (t *tableau) recall(e *phase1Entry) error {
	if e.err != nil {
		return e.err
	}
	n := e.n
	t.m, t.n, t.unchecked = e.rows, n, e.unchecked
	t.t = grow(&t.t, e.rows*(n+1))
	copy(t.t, e.t)
	t.basis = grow(&t.basis, e.rows)
	copy(t.basis, e.basis)
	t.cost = grow(&t.cost, n+1)
	copy(t.cost, e.cost)
	return nil
}

// sameBits reports whether x and y hold the same floats bit for bit.
func sameBits(x, y []float64) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
			return false
		}
	}
	return true
}
