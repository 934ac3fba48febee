package suppress

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// awkwardPolytope is randomPolytope made harder on the tableau's edge
// cases: some rows repeated (phase I drops them), some negated with their
// right-hand side (a negative b), coefficients that are not 0/1 (negative
// pivots when phase I drives artificial variables out), right-hand sides
// at and around the tolerances, signed zeros, and now and then an
// infeasible right-hand side.
func awkwardPolytope(r *rand.Rand) (a [][]float64, b []float64, n int) {
	a, b, n = randomPolytope(r)
	if len(a) == 0 || r.IntN(4) == 0 {
		return a, b, n // as the interval check builds them
	}
	odd := []float64{0.5, 2, -1, 3, 1e-10, -1e-13, 1e-13, 7.25, -0.3}
	for i := range a {
		if r.IntN(4) == 0 {
			for j := range a[i] {
				if a[i][j] != 0 && r.IntN(3) == 0 {
					a[i][j] = odd[r.IntN(len(odd))]
				}
			}
		}
		switch r.IntN(8) {
		case 0:
			b[i] = -b[i] // often infeasible; -0 when b was 0
			for j := range a[i] {
				a[i][j] = -a[i][j]
			}
		case 1:
			b[i] = []float64{-1e-10, 1e-10, -1e-14, math.Copysign(0, -1), 1e-9}[r.IntN(5)]
		case 2:
			b[i] += 1e-11
		}
	}
	if r.IntN(3) == 0 {
		// A repeated row, and a row that is the sum of two others.
		i := r.IntN(len(a))
		a = append(a, append([]float64(nil), a[i]...))
		b = append(b, b[i])
		if len(a) > 2 {
			s := make([]float64, n)
			for j := range s {
				s[j] = a[0][j] + a[1][j]
			}
			a, b = append(a, s), append(b, b[0]+b[1])
		}
	}
	if r.IntN(10) == 0 {
		b[r.IntN(len(b))] = 1e6 // rarely feasible
	}
	return a, b, n
}

// sameFloats reports where two float slices first differ bit for bit.
func sameFloats(what string, got, want []float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d entries, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			return fmt.Errorf("%s[%d] = %v (%#x), want %v (%#x)", what, i, got[i], math.Float64bits(got[i]), want[i], math.Float64bits(want[i]))
		}
	}
	return nil
}

// sameState compares the tableau with the reference's after the same
// steps: rows, basis and reduced costs, bit for bit.
func sameState(got *tableau, want *refTableau) error {
	if got.m != want.m || got.n != want.n {
		return fmt.Errorf("%dx%d, want %dx%d", got.m, got.n, want.m, want.n)
	}
	w := want.n + 1
	if err := sameFloats("rows", got.t[:got.m*w], want.t[:want.m*w]); err != nil {
		return err
	}
	if err := sameFloats("costs", got.cost[:w], want.cost[:w]); err != nil {
		return err
	}
	for i := range want.basis {
		if got.basis[i] != want.basis[i] {
			return fmt.Errorf("basis[%d] = %d, want %d", i, got.basis[i], want.basis[i])
		}
	}
	return nil
}

// sameErr: both nil, or both the same one of the simplex's errors.
func sameErr(got, want error) error {
	for _, e := range []error{errInfeasible, errUnbounded, errStalled} {
		if errors.Is(want, e) != errors.Is(got, e) {
			return fmt.Errorf("error %v, want %v", got, want)
		}
	}
	if (got == nil) != (want == nil) {
		return fmt.Errorf("error %v, want %v", got, want)
	}
	return nil
}

// TestTableauAsReference holds the tableau to the reference (the code
// before its pivots were made cheaper, simplexref_test.go) bit for bit:
// phase I's tableau or error, then every objective's minimum, vertex and
// tableau, on random polytopes, some of them repeated in the same
// tableau so that phase I is taken from what it remembers, as the
// interval check does with a layout's tableau.
func TestTableauAsReference(t *testing.T) {
	var tab tableau // one for all, as a layout's
	type problem struct {
		a    [][]float64
		b    []float64
		n    int
		seed uint64
	}
	var recent []problem
	checked, failed, remembered := 0, 0, 0
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 11))
		var p problem
		switch k := r.IntN(6); {
		case len(recent) > 0 && k < 2:
			p = recent[r.IntN(len(recent))] // seen again, maybe no longer remembered
			remembered++
		case len(recent) > 0 && k == 2:
			// A recent polytope with one coefficient changed: the same
			// right-hand sides, another polytope.
			q := recent[r.IntN(len(recent))]
			p = problem{make([][]float64, len(q.a)), q.b, q.n, seed}
			for i := range q.a {
				p.a[i] = append([]float64(nil), q.a[i]...)
			}
			i, j := r.IntN(len(p.a)), r.IntN(p.n)
			p.a[i][j] = 1 - p.a[i][j]
			recent = append(recent, p)
		default:
			a, b, n := awkwardPolytope(r)
			if len(a) == 0 {
				continue
			}
			p = problem{a, b, n, seed}
			recent = append(recent, p)
			if len(recent) > 3*phase1Remembered {
				recent = recent[1:]
			}
		}
		var ref refTableau
		werr := ref.reset(p.a, p.b, p.n)
		gerr := tab.reset(p.a, p.b, p.n)
		if err := sameErr(gerr, werr); err != nil {
			t.Fatalf("seed %d (polytope of seed %d): phase I: %v", seed, p.seed, err)
		}
		if werr != nil {
			failed++
			continue
		}
		if err := sameState(&tab, &ref); err != nil {
			t.Fatalf("seed %d (polytope of seed %d): after phase I: %v", seed, p.seed, err)
		}
		for k := range 8 {
			c := make([]float64, p.n)
			for j := range c {
				switch r.IntN(6) {
				case 0, 1, 2:
					c[j] = float64(r.IntN(3) - 1)
				case 3:
					c[j] = r.NormFloat64()
				}
			}
			want, wx, werr := ref.minimise(c)
			got, gx, gerr := tab.minimise(c)
			if err := sameErr(gerr, werr); err != nil {
				t.Fatalf("seed %d (polytope of seed %d), objective %d: %v", seed, p.seed, k, err)
			}
			if werr != nil {
				break // the tableau holds nothing useful
			}
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("seed %d (polytope of seed %d), objective %d: minimum %v, want %v", seed, p.seed, k, got, want)
			}
			if err := sameFloats("vertex", gx, wx); err != nil {
				t.Fatalf("seed %d (polytope of seed %d), objective %d: %v", seed, p.seed, k, err)
			}
			if err := sameState(&tab, &ref); err != nil {
				t.Fatalf("seed %d (polytope of seed %d), objective %d: %v", seed, p.seed, k, err)
			}
			checked++
		}
	}
	if checked < 10000 || failed < 100 || remembered < 500 {
		t.Fatalf("only %d optima, %d failed phases I, %d polytopes seen again", checked, failed, remembered)
	}
	t.Logf("%d optima and %d failed phases I identical; %d polytopes seen again", checked, failed, remembered)
}

// TestEliminateRowAsReference holds eliminateRow to the reference on
// rows of awkward values: signed zeros, values at the flushing bound,
// NaN and infinities.
func TestEliminateRowAsReference(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-13, -1e-13, 1e-13 * (1 + 1e-15), 5e-14, -5e-14,
		1e-300, -1e-300, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(), 3, 1 + 1e-13, 2.5e-13}
	r := rand.New(rand.NewPCG(1, 2))
	pick := func() float64 {
		if r.IntN(3) == 0 {
			return r.NormFloat64()
		}
		return vals[r.IntN(len(vals))]
	}
	for range 100000 {
		n := 1 + r.IntN(12)
		row := make([]float64, n)
		for j := range row {
			row[j] = pick()
		}
		s := r.IntN(n)
		var nz []int
		var nzv []float64
		for j := range n {
			if j == s || r.IntN(2) == 0 {
				nz = append(nz, j)
				nzv = append(nzv, pick())
			}
		}
		want := append([]float64(nil), row...)
		refEliminateRow(want, nzv, nz, s)
		got := append([]float64(nil), row...)
		eliminateRow(got, nzv, nz, s)
		if err := sameFloats("row", got, want); err != nil {
			t.Fatalf("row %v, pivot row %v at %v, column %d: %v", row, nzv, nz, s, err)
		}
	}
}
