package suppress

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	ur "usagereport"
)

// TestSolveReuseAsFresh holds the interval programs' reuse of their
// layout's room (the problem, its set-up's scratch, the tableau) and
// solve's summing of only the cells an optimum moves to the computation
// without them: on random organisations, each problem is solved once on
// one layout shared by many problems, one after another (whole and local,
// every measure, with and without Widen's shortcut and a cutoff), and once
// on a layout of its own summing every cell after every optimum (the old
// way). The intervals must be the same bit for bit, errors alike. Then,
// as republish and the swap do, it audits and counts the narrow pairs of
// pattern after pattern on one layout, against fresh ones.
func TestSolveReuseAsFresh(t *testing.T) {
	shapes := []genConfig{
		{orgs: 1, minSubs: 5, maxSubs: 40, maxCCs: 6, maxEvents: 6, dominantOdds: 8},
		{orgs: 1, minSubs: 30, maxSubs: 120, maxCCs: 25, maxEvents: 4, dominantOdds: 10},
		{orgs: 1, minSubs: 60, maxSubs: 160, maxCCs: 40, maxEvents: 3, dominantOdds: 0},
	}
	var compared, problems, programs, counts int
	for si, g := range shapes {
		for seed := range uint64(12) {
			r := rand.New(rand.NewPCG(seed, 2100+uint64(si)))
			cfg := Config{MinGroupSize: 3 + int(seed%3)}
			cells := suppressedOrg(t, r, g, cfg)
			if seed%2 == 1 {
				// Widen's pattern too: other cells hidden, more programs.
				if _, err := Widen(cells, cfg); err != nil {
					continue
				}
			}
			shared := newLayout(cells)
			nccs := len(shared.ccs)
			// Block sets: the whole report, then random local ones, in
			// random order of their cost centres.
			sets := [][]int32{nil}
			for range 6 {
				var bs []int32
				for b := range nccs {
					if r.IntN(3) == 0 {
						bs = append(bs, int32(b))
					}
				}
				if len(bs) == 0 {
					continue
				}
				r.Shuffle(len(bs), func(i, j int) { bs[i], bs[j] = bs[j], bs[i] })
				sets = append(sets, bs)
			}
			for _, blocks := range sets {
				for variant := range 4 {
					name := fmt.Sprintf("shape %d seed %d blocks %v variant %d", si, seed, blocks, variant)
					got, gotErr := reuseSolveAll(cells, shared, blocks, cfg, variant, false)
					want, wantErr := reuseSolveAll(cells, newLayout(cells), blocks, cfg, variant, true)
					if (gotErr != nil) != (wantErr != nil) {
						t.Fatalf("%s: error %v, fresh %v", name, gotErr, wantErr)
					}
					if len(got) != len(want) {
						t.Fatalf("%s: %d intervals, fresh %d", name, len(got), len(want))
					}
					for k := range got {
						g, w := got[k], want[k]
						if g.Cell != w.Cell || g.Measure != w.Measure ||
							math.Float64bits(g.Lo) != math.Float64bits(w.Lo) || math.Float64bits(g.Hi) != math.Float64bits(w.Hi) {
							t.Fatalf("%s: interval %d = %+v, fresh %+v", name, k, g, w)
						}
					}
					compared += len(got)
					programs++
				}
				problems++
			}
			// republish's and the swap's use: the audit and the count of
			// pattern after pattern on one layout, as on fresh ones.
			for try := range 8 {
				if try > 0 {
					i := r.IntN(len(cells))
					if cells[i].Suppression == ur.HiddenSecondary {
						cells[i].Suppression = ur.Published
					} else if cells[i].Suppression == ur.Published && cells[i].Set != 0 {
						cells[i].Suppression = ur.HiddenSecondary
					}
				}
				if got, want := audit(cells, shared).Disclosed, Audit(cells).Disclosed; !slices.Equal(got, want) {
					t.Fatalf("shape %d seed %d try %d: audit on the shared layout %v, fresh %v", si, seed, try, got, want)
				}
				if hiddenFinest(cells) > MaxIntervalUnknowns {
					continue
				}
				for _, limit := range []int{-1, 0, 2} {
					got, gotOK := narrowPairsUpTo(cells, shared, cfg, limit, len(cells)-1)
					want, wantOK := narrowPairsUpTo(cells, nil, cfg, limit, len(cells)-1)
					if got != want || gotOK != wantOK {
						t.Fatalf("shape %d seed %d try %d: narrowPairsUpTo(limit %d) on the shared layout %d, %v; fresh %d, %v", si, seed, try, limit, got, gotOK, want, wantOK)
					}
					counts++
				}
			}
		}
	}
	if counts < 100 {
		t.Errorf("only %d counts compared", counts)
	}
	t.Logf("%d intervals of %d programs in %d problems the same; %d counts", compared, programs, problems, counts)
	if compared < 1000 {
		t.Errorf("only %d intervals compared: the organisations are too small to test anything", compared)
	}
}

// reuseSolveAll sets up the problem over blocks on l and solves every
// measure: variant 0 in full, 1 with Widen's shortcut (solve's enough), 2
// with the shortcut and a cutoff of one bad interval, 3 as intervalOf does
// for one cell. fresh sums every cell after every optimum (seenEvery).
func reuseSolveAll(cells []ur.Cell, l *layout, blocks []int32, cfg Config, variant int, fresh bool) ([]Interval, error) {
	if blocks != nil {
		blocks = slices.Clone(blocks) // the problem keeps it
	}
	p, err := newIntervalProblem(cells, l, blocks)
	if err != nil {
		return nil, err
	}
	var out []Interval
	one := -1
	for i := range cells {
		if cells[i].Suppression.Hidden() {
			one = i // the last hidden cell
		}
	}
	for m := range ur.NumMeasures {
		opt := solveOpts{seenEvery: fresh}
		want := func(i int, m ur.Measure) bool { return Sensitive(&cells[i], m, cfg) }
		if variant >= 1 && variant <= 2 {
			opt.enough = func(i int, lo, hi float64) bool {
				return Protected(Interval{Cell: i, Measure: m, Lo: lo, Hi: hi}, m.Value(&cells[i]), p.l.upperCap(cells, i, m), cfg)
			}
			opt.fromTrue = true
		}
		if variant == 2 {
			opt.cutoff = cutoff{
				bad: func(iv Interval) bool {
					return !Protected(iv, iv.Measure.Value(&cells[iv.Cell]), p.l.upperCap(cells, iv.Cell, iv.Measure), cfg)
				},
				limit: 1,
				first: func(i int) bool { return i%2 == 0 },
			}
		}
		if variant == 3 {
			want = func(i int, _ ur.Measure) bool { return i == one }
		}
		ivs, err := p.solve(cells, m, want, opt)
		if err != nil {
			return nil, err
		}
		out = append(out, ivs...)
	}
	return out, nil
}

// TestReduceByAsMultiplying holds reduceBy's shortcuts for factors 1 and
// -1 to the multiplication they skip: on random echelon bases and vectors
// (0/1 rows as the programs' equations are, and residues of every size),
// the reduced vector and the pivot found are the same.
func TestReduceByAsMultiplying(t *testing.T) {
	reference := func(v []uint64, basis [][]uint64, pivots []int) int {
		for k, b := range basis {
			if f := v[pivots[k]]; f != 0 {
				for j := pivots[k]; j < len(v); j++ {
					v[j] = subMod(v[j], mulMod(f, b[j]))
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
	r := rand.New(rand.NewPCG(21, 5))
	entry := func() uint64 {
		switch r.IntN(6) {
		case 0, 1, 2:
			return 0
		case 3:
			return 1
		case 4:
			return modulus - 1
		}
		return r.Uint64N(modulus)
	}
	for trial := range 2000 {
		n := 1 + r.IntN(40)
		var basis [][]uint64
		var pivots []int
		for range r.IntN(n + 1) {
			v := make([]uint64, n)
			for j := range v {
				v[j] = entry()
			}
			piv := reduceBy(v, basis, pivots)
			if piv < 0 {
				continue
			}
			inv := invMod(v[piv])
			for j := range v {
				v[j] = mulMod(v[j], inv)
			}
			basis, pivots = append(basis, v), append(pivots, piv)
		}
		v := make([]uint64, n)
		for j := range v {
			v[j] = entry()
		}
		w := slices.Clone(v)
		got, want := reduceBy(v, basis, pivots), reference(w, basis, pivots)
		if got != want || !slices.Equal(v, w) {
			t.Fatalf("trial %d: reduceBy = %d %v, multiplying %d %v", trial, got, v, want, w)
		}
	}
}

// TestMergeRunsAsSort holds rowCells' merge of its blocks' cells to
// sorting them: random ascending runs (some empty) of distinct cells.
func TestMergeRunsAsSort(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 43))
		n := r.IntN(60)
		perm := r.Perm(n)
		nruns := 1 + r.IntN(9)
		cuts := make([]int, 0, nruns)
		for range nruns - 1 {
			cuts = append(cuts, r.IntN(n+1))
		}
		slices.Sort(cuts)
		cuts = append(cuts, n)
		s := make([]int32, n)
		for i, v := range perm {
			s[i] = int32(v)
		}
		from := 0
		for _, to := range cuts {
			slices.Sort(s[from:to])
			from = to
		}
		want := slices.Clone(s)
		slices.Sort(want)
		mergeRuns(s, cuts, make([]int32, n))
		if !slices.Equal(s, want) {
			t.Fatalf("seed %d: merged %v, sorted %v", seed, s, want)
		}
	}
}
