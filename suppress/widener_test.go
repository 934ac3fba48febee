package suppress

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	ur "usagereport"
)

// TestWidenerAsScan compares widener with the scan of every cost centre it
// replaces (widenerScan, below), on random reports with many small cost
// centres. Like Widen, it hides each chosen cell before the next call, so
// the shape index's dropping of hidden cells is exercised over many
// calls. The linear programs are stood in for by a rule that depends only
// on which cells are hidden: the move helps when it hides a chosen key
// cell. Both must try the same cells in the same order and choose alike.
func TestWidenerAsScan(t *testing.T) {
	cfg := Config{MinGroupSize: 5}
	for seed := range uint64(12) {
		r := rand.New(rand.NewPCG(seed, 21))
		g := genConfig{orgs: 1, minSubs: 60, maxSubs: 400, maxCCs: 80, maxEvents: 8, dominantOdds: 20}
		base := suppressedOrg(t, r, g, cfg)
		got, want := slices.Clone(base), slices.Clone(base)
		lg, lw := newLayout(got), newLayout(want)
		trialsGot := 1 + r.IntN(40)
		trialsWant := trialsGot
		for call := range 200 {
			var hs []int
			for i := range got {
				if got[i].Suppression.Hidden() {
					hs = append(hs, i)
				}
			}
			if len(hs) == 0 {
				break
			}
			h := hs[r.IntN(len(hs))]
			m := ur.Measure(r.IntN(int(ur.NumMeasures)))
			v := float64(m.Value(&got[h]))
			before := Interval{Cell: h, Measure: m, Lo: v - float64(r.IntN(3)), Hi: v + float64(r.IntN(3))}
			hiWant, loWant := v+2, v-2
			if r.IntN(4) == 0 {
				hiWant = math.Inf(-1) // nothing caps
			}
			key := r.IntN(len(got))
			var triedGot, triedWant []int
			stub := func(tried *[]int, ref []ur.Suppression) func([]ur.Cell, int, ur.Measure) (Interval, error) {
				return func(cells []ur.Cell, _ int, _ ur.Measure) (Interval, error) {
					for i := range cells {
						if cells[i].Suppression != ref[i] {
							*tried = append(*tried, i)
						}
					}
					iv := before
					if cells[key].Suppression.Hidden() {
						iv.Lo, iv.Hi = iv.Lo-10, iv.Hi+10
					}
					return iv, nil
				}
			}
			refGot := suppressions(got)
			refWant := suppressions(want)
			afterGot, afterWant := Interval{Lo: math.NaN()}, Interval{Lo: math.NaN()}
			w := &widener{l: lg, cells: got, trials: trialsGot, intervalOf: stub(&triedGot, refGot)}
			ug, after, shown := w.move(widening{h: h, m: m, before: before, hiWant: hiWant, loWant: loWant})
			if trialsGot = w.trials; shown {
				afterGot = after
			}
			uw := widenerScan(lw, want, h, m, before, hiWant, loWant, &trialsWant, stub(&triedWant, refWant), &afterWant)
			if ug != uw || trialsGot != trialsWant || !slices.Equal(triedGot, triedWant) || fmt.Sprint(afterGot) != fmt.Sprint(afterWant) {
				t.Fatalf("seed %d call %d, cell %d %s: got cell %d (trials left %d, tried %v, after %v), want %d (%d, %v, %v)",
					seed, call, h, m, ug, trialsGot, triedGot, afterGot, uw, trialsWant, triedWant, afterWant)
			}
			if ug >= 0 {
				got[ug].Suppression, want[uw].Suppression = ur.HiddenSecondary, ur.HiddenSecondary
			}
			if call%25 == 0 {
				trialsGot, trialsWant = 3, 3
			}
		}
	}
}

func suppressions(cells []ur.Cell) []ur.Suppression {
	s := make([]ur.Suppression, len(cells))
	for i := range cells {
		s[i] = cells[i].Suppression
	}
	return s
}

// widenerScan is widener as it was first written: it walks every cost
// centre for h's shape and sorts all the candidates, for each call (with
// the total's measure as a target and, in reports up to widenFarCells
// cells, every other published cell after the related ones).
func widenerScan(l *layout, cells []ur.Cell, h int, m ur.Measure, before Interval, hiWant, loWant float64, trials *int, intervalOf func([]ur.Cell, int, ur.Measure) (Interval, error), after *Interval) int {
	best := -1
	pick := func(i int) {
		if best < 0 || costCmp(&cells[i], &cells[best]) < 0 {
			best = i
		}
	}
	open := func(i int) bool {
		return i != h && !cells[i].Suppression.Hidden() && !l.fixed(cells, i)
	}
	related := func(f func(i int)) {
		if h == l.total {
			// The total's own measure (hidden by the p%-rule): any cell
			// may bound it.
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
		for e := range l.ccs {
			if int32(e) == l.block[h] {
				continue
			}
			if j := l.find(cells, &l.ccs[e], l.mask[h]); j >= 0 {
				f(j)
			}
		}
	}
	mh := l.mask[h]
	related(func(i int) {
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
	var cands []int
	related(func(i int) {
		if open(i) && m.Value(&cells[i]) > 0 && !slices.Contains(cands, i) {
			cands = append(cands, i)
		}
	})
	slices.SortStableFunc(cands, func(a, b int) int {
		if c := costCmp(&cells[a], &cells[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	try := func(list []int) int {
		for _, u := range list {
			if *trials <= 0 {
				break
			}
			*trials--
			// Hiding u alone (tried in place, then undone): Secondary may
			// hide more with it, which only widens further, so a move that
			// helps alone helps.
			was := cells[u].Suppression
			cells[u].Suppression = ur.HiddenSecondary
			iv, err := intervalOf(cells, h, m)
			cells[u].Suppression = was
			if err != nil {
				continue
			}
			if (before.Hi < hiWant && iv.Hi > before.Hi+widenEps(before.Hi)) ||
				(before.Lo > loWant && iv.Lo < before.Lo-widenEps(before.Lo)) {
				*after = iv
				return u
			}
		}
		return -1
	}
	if u := try(cands); u >= 0 {
		return u
	}
	if *trials > 0 && len(cells) <= widenFarCells {
		// Then the cells of other cost centres: with the structural zeros
		// a reader knows, a cost centre's published cell of another shape
		// can bound h too (total - Salg domestic = Lager data + Salg data
		// world, when only data has bytes). A cell of none of the measure
		// bounds the others at zero: hiding it can lower a lower end.
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
		slices.SortStableFunc(far, func(a, b int) int {
			if c := costCmp(&cells[a], &cells[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		if u := try(far); u >= 0 {
			return u
		}
	}
	// No move tried helps alone (two equations bind at once, or the
	// trials ran out): hide the cheapest related cell that holds what the
	// range falls short by, else the one holding most of the measure,
	// and try again next round.
	need := max(hiWant-before.Hi, before.Lo-loWant, 1)
	best = -1
	for _, u := range cands { // cheapest first
		if float64(m.Value(&cells[u])) >= need {
			return u
		}
		if best < 0 || m.Value(&cells[u]) > m.Value(&cells[best]) {
			best = u
		}
	}
	return best
}
