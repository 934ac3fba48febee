package suppress

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// randomPolytope draws {x >= 0 : A x = b} the way the interval check
// builds them: 0/1 rows, independent, and b = A x0 for a non-negative x0,
// so that it is feasible.
func randomPolytope(r *rand.Rand) (a [][]float64, b []float64, n int) {
	n = 2 + r.IntN(25)
	var basis [][]uint64
	var pivots []int
	for range 1 + r.IntN(2*n) {
		row := make([]float64, n)
		red := make([]uint64, n)
		for j := range n {
			if r.IntN(3) == 0 {
				row[j], red[j] = 1, 1
			}
		}
		piv := reduceBy(red, basis, pivots)
		if piv < 0 {
			continue
		}
		inv := invMod(red[piv])
		for j := range red {
			red[j] = mulMod(red[j], inv)
		}
		for k := range basis {
			if f := basis[k][piv]; f != 0 {
				for j := range red {
					basis[k][j] = subMod(basis[k][j], mulMod(f, red[j]))
				}
			}
		}
		basis, pivots = append(basis, red), append(pivots, piv)
		a = append(a, row)
	}
	// Drop the columns no row holds, as the interval check does (they
	// are free unknowns there).
	var keep []int
	for j := range n {
		for _, row := range a {
			if row[j] != 0 {
				keep = append(keep, j)
				break
			}
		}
	}
	for i, row := range a {
		packed := make([]float64, len(keep))
		for k, j := range keep {
			packed[k] = row[j]
		}
		a[i] = packed
	}
	n = len(keep)
	x0 := make([]float64, n)
	for j := range x0 {
		if r.IntN(3) > 0 {
			x0[j] = float64(r.IntN(10)) / 10
		}
	}
	for _, row := range a {
		var s float64
		for j, v := range row {
			s += v * x0[j]
		}
		b = append(b, s)
	}
	return a, b, n
}

// TestSimplexMatchesGonum checks the tableau against gonum's simplex on
// random polytopes and objectives, several objectives per tableau (each
// starting from the last optimum, as the interval check does).
func TestSimplexMatchesGonum(t *testing.T) {
	compared, gonumFailed := 0, 0
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 5))
		a, b, n := randomPolytope(r)
		if len(a) == 0 {
			continue
		}
		dense := mat.NewDense(len(a), n, nil)
		for i, row := range a {
			dense.SetRow(i, row)
		}
		tab, err := newTableau(a, b, n)
		if err != nil {
			t.Fatalf("seed %d: feasible polytope: %v", seed, err)
		}
		for range 6 {
			// Every column is in a 0/1 row: every minimum is finite.
			c := make([]float64, n)
			for j := range c {
				c[j] = float64(r.IntN(3) - 1)
			}
			got, x, err := tab.minimise(c)
			want, _, werr := lp.Simplex(c, dense, b, 1e-10, nil)
			switch {
			case err != nil:
				t.Errorf("seed %d: tableau: %v, gonum %v", seed, err, want)
				continue
			}
			if werr != nil {
				gonumFailed++ // gonum's own trouble (a singular start): nothing to compare
			} else if math.Abs(got-want) > 1e-7 {
				t.Errorf("seed %d: minimum %v, gonum %v", seed, got, want)
			}
			// The vertex is feasible and attains the minimum.
			var f float64
			for j := range x {
				if x[j] < -1e-9 {
					t.Errorf("seed %d: x[%d] = %v", seed, j, x[j])
				}
				f += c[j] * x[j]
			}
			for i, row := range a {
				var s float64
				for j, v := range row {
					s += v * x[j]
				}
				if math.Abs(s-b[i]) > 1e-7 {
					t.Errorf("seed %d: row %d: %v, want %v", seed, i, s, b[i])
				}
			}
			if math.Abs(f-got) > 1e-7 {
				t.Errorf("seed %d: objective at vertex %v, reported %v", seed, f, got)
			}
			compared++
		}
	}
	if compared-gonumFailed < 1000 {
		t.Fatalf("only %d optima compared (%d more gonum did not solve)", compared-gonumFailed, gonumFailed)
	}
	t.Logf("%d optima compared with gonum's, %d more that gonum did not solve checked for feasibility", compared-gonumFailed, gonumFailed)
}

func TestSimplexInfeasible(t *testing.T) {
	// x + y = 1 and x + y + z = 0.5 with all three at least 0.
	a := [][]float64{{1, 1, 0}, {1, 1, 1}}
	if _, err := newTableau(a, []float64{1, 0.5}, 3); !errors.Is(err, errInfeasible) {
		t.Fatalf("got %v, want errInfeasible", err)
	}
	// A negative right-hand side: x = -1.
	if _, err := newTableau([][]float64{{1}}, []float64{-1}, 1); !errors.Is(err, errInfeasible) {
		t.Fatalf("got %v, want errInfeasible", err)
	}
}
