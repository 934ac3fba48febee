package suppress

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	ur "usagereport"
)

// BenchmarkSuppressManyCostCentres is Suppress on one large organisation
// with thousands of cost centres, most of them small, and a few events per
// subscriber (the shape of the second generator's largest), where Widen,
// its Secondary runs and the audits do most of the work (issue 21).
func BenchmarkSuppressManyCostCentres(b *testing.B) {
	for _, size := range []struct{ ccs, subs int }{{1000, 8000}, {5000, 38000}} {
		r := rand.New(rand.NewPCG(uint64(size.ccs), 77))
		g := genConfig{orgs: 1, minSubs: size.subs, maxSubs: size.subs, maxCCs: size.ccs, maxEvents: 4, dominantOdds: 60, exactCCs: true}
		base := cubeCells(b, randomRecords(r, g))
		cfg := Config{MinGroupSize: 5}
		b.Run(fmt.Sprintf("ccs=%d/cells=%d", size.ccs, len(base)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cells := slices.Clone(base)
				if _, err := Suppress(cells, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnstickTrials is unstick's loop for one hidden cell: hide each
// of up to maxUnstickFar published cells of other cost centres in turn
// and ask whether the cell is still determined, in a report of n cost
// centres, most of them small (randomRecords). scan asks determined, which computes the spaces of every cost
// centre for each trial (what unstick did: quadratic in the cost
// centres); probe is hideProbe, one intersection or two per trial after
// one pass.
func BenchmarkUnstickTrials(b *testing.B) {
	for _, n := range []int{500, 5000} {
		r := rand.New(rand.NewPCG(uint64(n), 78))
		g := genConfig{orgs: 1, minSubs: 8 * n, maxSubs: 8 * n, maxCCs: n, maxEvents: 4, exactCCs: true}
		cells := cubeCells(b, randomRecords(r, g))
		cfg := Config{MinGroupSize: 5}
		Primary(cells, cfg)
		Dominance(cells, cfg)
		Secondary(cells)
		l := newLayout(cells)
		h := -1
		var cands []int
		for i := range cells {
			switch {
			case h < 0 && cells[i].Suppression.Hidden() && l.block[i] >= 0:
				h = i
			case h >= 0 && !cells[i].Suppression.Hidden() && l.block[i] != l.block[h] && !l.fixed(cells, i) && len(cands) < maxUnstickFar:
				cands = append(cands, i)
			}
		}
		if h < 0 || len(cands) == 0 {
			b.Fatalf("n=%d: no hidden cell or no candidates", n)
		}
		for _, probe := range []bool{false, true} {
			name := "scan"
			if probe {
				name = "probe"
			}
			b.Run(fmt.Sprintf("ccs=%d/trials=%d/%s", n, len(cands), name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var p *hideProbe
					if probe {
						p = l.newHideProbe(cells, h)
					}
					for _, u := range cands {
						cells[u].Suppression = ur.HiddenSecondary
						if probe {
							p.determinedWith(cells, u)
						} else {
							l.determined(cells, h)
						}
						cells[u].Suppression = ur.Published
					}
				}
			})
		}
	}
}
