package suppress

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ur "usagereport"
)

// TestWidenerSameProblemAsTrial holds the widener's shortcut (see
// sameProblem) to the trial it replaces: on random organisations, for
// every hidden cell h, measure m and published cell u, when the widener
// says hiding u leaves the problem of the whole report as it is, hiding u
// and solving h's interval on a layout of its own must give the interval
// the shortcut gives, bit for bit, errors alike. Both kinds of trial must
// occur, and among those the shortcut declines, some must give another
// interval (so that a shortcut taken for them would be caught).
func TestWidenerSameProblemAsTrial(t *testing.T) {
	shapes := []genConfig{
		{orgs: 1, minSubs: 5, maxSubs: 40, maxCCs: 6, maxEvents: 6, dominantOdds: 8},
		{orgs: 1, minSubs: 30, maxSubs: 120, maxCCs: 12, maxEvents: 4, dominantOdds: 10},
	}
	var same, declined, declinedDiffer int
	for si, g := range shapes {
		for seed := range uint64(10) {
			r := rand.New(rand.NewPCG(seed, 2190+uint64(si)))
			cfg := Config{MinGroupSize: 3 + int(seed%3)}
			cells := suppressedOrg(t, r, g, cfg)
			if seed%2 == 1 {
				if _, err := Widen(cells, cfg); err != nil {
					continue
				}
			}
			if hiddenFinest(cells) > maxWidenUnknowns {
				continue // Widen's trials are local there: no shortcut
			}
			l := newLayout(cells)
			w := &widener{l: l, cells: cells, whole: true, intervalOf: func(cells []ur.Cell, h int, m ur.Measure) (Interval, error) {
				return l.intervalOf(cells, h, m, nil)
			}}
			for h := range cells {
				if !cells[h].Suppression.Hidden() {
					continue
				}
				for m := range ur.NumMeasures {
					w.same.reset()
					for u := range cells {
						if cells[u].Suppression.Hidden() || u == l.total {
							continue
						}
						unchanged := w.unchanged(u)
						var short Interval
						var shortErr error
						if unchanged {
							short, shortErr = w.current(h, m)
						}
						cells[u].Suppression = ur.HiddenSecondary
						trial, trialErr := newLayout(cells).intervalOf(cells, h, m, nil)
						cells[u].Suppression = ur.Published
						if !unchanged {
							declined++
							if trialErr == nil {
								if cur, err := l.intervalOf(cells, h, m, nil); err == nil && !sameInterval(cur, trial) {
									declinedDiffer++
								}
							}
							continue
						}
						same++
						if fmt.Sprint(shortErr) != fmt.Sprint(trialErr) {
							t.Fatalf("shape %d seed %d h %d m %v u %d: shortcut error %v, trial %v", si, seed, h, m, u, shortErr, trialErr)
						}
						if shortErr == nil && !sameInterval(short, trial) {
							t.Fatalf("shape %d seed %d h %s m %v u %s: shortcut %+v, trial %+v", si, seed, CellName(&cells[h]), m, CellName(&cells[u]), short, trial)
						}
					}
				}
			}
		}
	}
	t.Logf("%d trials taken by the shortcut, %d declined (%d of them with another interval)", same, declined, declinedDiffer)
	if same < 100 || declinedDiffer == 0 {
		t.Fatalf("too few cases: %d shortcut, %d declined with another interval", same, declinedDiffer)
	}
}

func sameInterval(a, b Interval) bool {
	return a.Cell == b.Cell && a.Measure == b.Measure &&
		math.Float64bits(a.Lo) == math.Float64bits(b.Lo) && math.Float64bits(a.Hi) == math.Float64bits(b.Hi)
}
