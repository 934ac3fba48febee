package suppress

import "math"

// refTableau is the tableau as it was before its pivots were made
// cheaper (sparse pivot row found without branches, the rows to
// eliminate listed by the ratio test, the rounding of right-hand sides
// checked only in rows that changed, phase I remembered for a polytope
// seen again): TestTableauAsReference holds the tableau to it bit for
// bit. Its code is the old one, unchanged but for the names.

// tableau is {x >= 0 : A x = b} in canonical form for a feasible basis:
// row i reads x[basis[i]] + sum over non-basic j of t[i][j] x[j] = t[i][n].
type refTableau struct {
	m, n  int
	t     []float64 // m rows of n+1 entries
	basis []int
	cost  []float64 // reduced costs of the current objective, n+1 entries (the last: minus its value)
	nz    []int     // scratch: the pivot row's non-zero columns
	nzv   []float64 // scratch: its entries there
	x     []float64 // the vertex minimise returns, valid until its next call
}

func (t *refTableau) row(i int) []float64 { return t.t[i*(t.n+1) : (i+1)*(t.n+1)] }

// reset is newTableau in t's room: its slices are reused when large
// enough (solve sets up one tableau per problem and measure, mostly of a
// few rows, and allocating them was a tenth of the programs' time). On an
// error t holds nothing useful.
func (t *refTableau) reset(a [][]float64, b []float64, n int) error {
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
	for i := range m {
		r := t.row(i)
		sign := 1.0
		if b[i] < 0 {
			sign = -1
		}
		for j := range n {
			r[j] = sign * a[i][j]
		}
		r[n] = sign * b[i]
		t.basis[i] = n + i
	}
	// Minimise the sum of the artificial variables: the reduced cost of a
	// structural column is minus the sum of its entries.
	for i := range m {
		r := t.row(i)
		for j := range n + 1 {
			t.cost[j] -= r[j]
		}
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
			t.pivot(i, best)
		}
		if keep != i {
			copy(t.row(keep), r)
			t.basis[keep] = t.basis[i]
		}
		keep++
	}
	t.m, t.basis, t.t = keep, t.basis[:keep], t.t[:keep*(n+1)]
	return nil
}

// minimise minimises c·x over the tableau's polytope, starting from its
// current basis and leaving the tableau at the optimum. It returns the
// minimum and the optimal vertex, which the next call overwrites.
func (t *refTableau) minimise(c []float64) (float64, []float64, error) {
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
func (t *refTableau) run() error {
	n := t.n
	degenerate := 0
	for iter := 0; ; iter++ {
		if iter > 50*(t.m+n)+1000 {
			return errStalled
		}
		bland := degenerate > 2*(t.m+n)
		s := -1
		for j := range n {
			if t.cost[j] < -simplexTol {
				if bland {
					s = j
					break
				}
				if s < 0 || t.cost[j] < t.cost[s] {
					s = j
				}
			}
		}
		if s < 0 {
			return nil
		}
		r := -1
		var ratio float64
		for i := range t.m {
			row := t.row(i)
			if row[s] <= simplexTol {
				continue
			}
			q := row[n] / row[s]
			if r < 0 || q < ratio-simplexTol || (q <= ratio+simplexTol && t.basis[i] < t.basis[r]) {
				r, ratio = i, q
			}
		}
		if r < 0 {
			return errUnbounded
		}
		if ratio <= simplexTol {
			degenerate++
		} else {
			degenerate = 0
		}
		t.pivot(r, s)
	}
}

// pivot makes column s basic in row r.
func (t *refTableau) pivot(r, s int) {
	pr := t.row(r)
	inv := 1 / pr[s]
	// The pivot row is mostly zeros (the coefficients are 0/1 to begin
	// with): the other rows change only in its non-zero columns.
	nz := t.nz[:0]
	for j := range pr {
		if pr[j] != 0 {
			pr[j] *= inv
			nz = append(nz, j)
		}
	}
	t.nz = nz
	pr[s] = 1
	// The pivot row's non-zero entries, in nz's order: read in sequence,
	// not gathered, by every row's elimination.
	nzv := grow(&t.nzv, len(nz))
	for k, j := range nz {
		nzv[k] = pr[j]
	}
	w := t.n + 1
	for i := range t.m {
		if i == r {
			continue
		}
		row := t.t[i*w : (i+1)*w : (i+1)*w]
		refEliminateRow(row, nzv, nz, s)
		if rhs := &row[t.n]; *rhs < 0 && *rhs > -simplexTol {
			*rhs = 0 // rounding: a basic variable is never negative
		}
	}
	refEliminateRow(t.cost, nzv, nz, s)
	t.basis[r] = s
}

// eliminateRow subtracts row[s] times the pivot row from row in the pivot
// row's non-zero columns nz (its entries there: nzv), flushing to zero
// what rounding leaves below 1e-13, and zeroes row[s]. (|v| < 1e-13
// written as two comparisons: the same for every v, NaN included, without
// the call.)
func refEliminateRow(row, nzv []float64, nz []int, s int) {
	f := row[s]
	if f == 0 {
		return
	}
	nzv = nzv[:len(nz)]
	for k, j := range nz {
		v := row[j] - f*nzv[k]
		if v < 1e-13 && v > -1e-13 {
			v = 0
		}
		row[j] = v
	}
	row[s] = 0
}
