package suppress

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ur "usagereport"
)

// TestWidenerSameProblemAsTrial holds the widener's trials (see
// sameProblem) to trials without the shortcut: on random organisations,
// for every hidden cell h, measure m and published cell u in turn, as one
// move tries them, the widener's trial of u must give the interval that
// hiding u and solving h's interval on a layout of its own gives, bit for
// bit, errors alike, whether it took the shortcut (P's interval solved
// from P's problem still held, or set up again) or not. Both kinds of trial must
// occur, and among those the shortcut declines, some must give another
// interval (so that a shortcut taken for them would be caught).
func TestWidenerSameProblemAsTrial(t *testing.T) {
	shapes := []genConfig{
		{orgs: 1, minSubs: 5, maxSubs: 40, maxCCs: 6, maxEvents: 6, dominantOdds: 8},
		{orgs: 1, minSubs: 30, maxSubs: 120, maxCCs: 12, maxEvents: 4, dominantOdds: 10},
	}
	var same, declined, declinedDiffer, fromHeld, setUpAgain int
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
					for _, u := range r.Perm(len(cells)) { // a move's order is its own
						if cells[u].Suppression.Hidden() || u == l.total {
							continue
						}
						unchanged := w.unchanged(u) // as trial will find (it sets P up once)
						if unchanged && !w.same.ivMade {
							if w.same.held {
								fromHeld++
							} else {
								setUpAgain++
							}
						}
						got, gotErr := w.trial(u, h, m)
						if w.cells[u].Suppression != ur.Published {
							t.Fatalf("trial left cell %d hidden", u)
						}
						cells[u].Suppression = ur.HiddenSecondary
						want, wantErr := newLayout(cells).intervalOf(cells, h, m, nil)
						cells[u].Suppression = ur.Published
						if !unchanged {
							declined++
							if wantErr == nil {
								if cur, err := newLayout(cells).intervalOf(cells, h, m, nil); err == nil && !sameInterval(cur, want) {
									declinedDiffer++
								}
							}
						} else {
							same++
						}
						if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
							t.Fatalf("shape %d seed %d h %d m %v u %d (shortcut %v): error %v, fresh trial %v", si, seed, h, m, u, unchanged, gotErr, wantErr)
						}
						if gotErr == nil && !sameInterval(got, want) {
							t.Fatalf("shape %d seed %d h %s m %v u %s (shortcut %v): %+v, fresh trial %+v", si, seed, CellName(&cells[h]), m, CellName(&cells[u]), unchanged, got, want)
						}
					}
				}
			}
		}
	}
	t.Logf("%d trials taken by the shortcut (P solved %d times as set up, %d set up again), %d declined (%d of them with another interval)", same, fromHeld, setUpAgain, declined, declinedDiffer)
	if same < 100 || declinedDiffer == 0 || fromHeld == 0 || setUpAgain == 0 {
		t.Fatalf("too few cases: %d shortcut (%d, %d), %d declined with another interval", same, fromHeld, setUpAgain, declinedDiffer)
	}
}

func sameInterval(a, b Interval) bool {
	return a.Cell == b.Cell && a.Measure == b.Measure &&
		math.Float64bits(a.Lo) == math.Float64bits(b.Lo) && math.Float64bits(a.Hi) == math.Float64bits(b.Hi)
}
