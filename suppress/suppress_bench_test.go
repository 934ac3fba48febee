package suppress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	ur "usagereport"
)

// bigOrgCells returns the unsuppressed cells of one large organisation:
// subs subscribers over about ccs cost centres with skewed sizes, so that
// many cost centres are small and many cells tiny.
func bigOrgCells(tb testing.TB, ccs, subs int) []ur.Cell {
	tb.Helper()
	r := rand.New(rand.NewPCG(uint64(ccs), uint64(subs)))
	g := genConfig{orgs: 1, minSubs: subs, maxSubs: subs, maxCCs: ccs, maxEvents: 30, dominantOdds: 60, exactCCs: true}
	return cubeCells(tb, randomRecords(r, g))
}

// BenchmarkSuppression measures, per organisation size, primary
// suppression alone (the baseline) and everything Cubes adds on top of it:
// the p%-rule, secondary suppression, widening (for the reports small
// enough for it) and the audit. BenchmarkCells is the aggregation all of
// it runs after.
func BenchmarkSuppression(b *testing.B) {
	for _, size := range []struct{ ccs, subs int }{{10, 200}, {100, 3000}, {600, 20000}} {
		base := bigOrgCells(b, size.ccs, size.subs)
		cfg := Config{MinGroupSize: 5}
		name := fmt.Sprintf("cells=%d", len(base))
		cells := make([]ur.Cell, len(base))
		b.Run(name+"/primary", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				copy(cells, base)
				Primary(cells, cfg)
			}
		})
		b.Run(name+"/full", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				copy(cells, base)
				Primary(cells, cfg)
				Dominance(cells, cfg)
				Secondary(cells)
				if _, err := Widen(cells, cfg); err != nil && !errors.Is(err, ErrTooLarge) {
					b.Fatal(err)
				}
				if res := Audit(cells); len(res.Disclosed) > 0 {
					b.Fatal("disclosed")
				}
			}
			l := LossOf(cells)
			b.ReportMetric(float64(l.HiddenPrimary), "primary")
			b.ReportMetric(float64(l.HiddenSecondary), "secondary")
		})
		b.Run(name+"/audit", func(b *testing.B) {
			copy(cells, base)
			Primary(cells, cfg)
			Dominance(cells, cfg)
			Secondary(cells)
			b.ReportAllocs()
			for b.Loop() {
				Audit(cells)
			}
		})
	}
}

// BenchmarkNarrowPairs measures the programs of a whole report that
// republish solves before and after each cell it tries (narrowPairs:
// Intervals of the sensitive pairs), on the pattern Secondary leaves.
func BenchmarkNarrowPairs(b *testing.B) {
	for _, size := range []struct{ ccs, subs int }{{10, 200}, {25, 500}} {
		cells := bigOrgCells(b, size.ccs, size.subs)
		cfg := Config{MinGroupSize: 5}
		Primary(cells, cfg)
		Dominance(cells, cfg)
		Secondary(cells)
		b.Run(fmt.Sprintf("cells=%d", len(cells)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := narrowPairs(cells, cfg); !ok {
					b.Fatal("programs not solved")
				}
			}
		})
	}
}

// BenchmarkIntervalPrograms measures the interval programs on the pattern
// Secondary leaves in one organisation: set-up and solving of the whole
// report's problem, in full (Intervals) and with Widen's shortcut (as
// narrowPairs and Widen solve it), and of the local problems (LocalIntervals,
// with the shortcut), each on one layout as Widen and the swap use it.
func BenchmarkIntervalPrograms(b *testing.B) {
	for _, size := range []struct{ ccs, subs int }{{10, 200}, {25, 500}, {100, 3000}} {
		cells := bigOrgCells(b, size.ccs, size.subs)
		cfg := Config{MinGroupSize: 5}
		Primary(cells, cfg)
		Dominance(cells, cfg)
		Secondary(cells)
		name := fmt.Sprintf("cells=%d", len(cells))
		sensitive := func(i int, m ur.Measure) bool { return Sensitive(&cells[i], m, cfg) }
		if hiddenFinest(cells) <= MaxIntervalUnknowns {
			for _, short := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/whole/shortcut=%t", name, short), func(b *testing.B) {
					l := newLayout(cells)
					var c *Config
					if short {
						c = &cfg
					}
					b.ReportAllocs()
					for b.Loop() {
						p, err := newIntervalProblem(cells, l, nil)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := p.intervals(cells, sensitive, c); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
		b.Run(name+"/local", func(b *testing.B) {
			l := newLayout(cells)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.localIntervals(cells, sensitive, &cfg, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWidenByBounds measures Widen's cheap first pass (bounds
// propagation, with its trial moves) on the pattern Secondary leaves in
// one organisation.
func BenchmarkWidenByBounds(b *testing.B) {
	for _, size := range []struct{ ccs, subs int }{{100, 3000}, {600, 20000}} {
		base := bigOrgCells(b, size.ccs, size.subs)
		cfg := Config{MinGroupSize: 5}
		Primary(base, cfg)
		Dominance(base, cfg)
		Secondary(base)
		cells := make([]ur.Cell, len(base))
		b.Run(fmt.Sprintf("cells=%d", len(base)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				copy(cells, base)
				widenByBounds(cells, cfg)
			}
		})
	}
}
