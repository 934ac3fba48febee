package suppress

import (
	"math"
	"math/rand/v2"
	"testing"

	ur "usagereport"
)

// TestBoundsContainIntervals checks that bounds propagation is an outer
// bound: every range it finds holds the true value and the range the
// linear programs find, so a range it calls too narrow is.
func TestBoundsContainIntervals(t *testing.T) {
	checked := 0
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 13))
		cells := cubeCells(t, randomRecords(r, genConfig{orgs: 1, minSubs: 5, maxSubs: 30, maxCCs: 5, maxEvents: 6}))
		for i := range cells {
			if i > 0 && r.IntN(3) == 0 && cells[i].Events < cells[0].Events {
				cells[i].Suppression = ur.HiddenSmall
			}
		}
		ivs, err := Intervals(cells, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		rels := relations(cells)
		for m := range ur.NumMeasures {
			floor := int64(0)
			if m == ur.Events {
				floor = 1
			}
			lo, hi := propagate(cells, rels, m, floor)
			for _, iv := range ivs {
				if iv.Measure != m || math.IsInf(iv.Lo, -1) {
					continue
				}
				i := iv.Cell
				v := m.Value(&cells[i])
				b := boundInterval(i, m, lo[i], hi[i])
				eps := 1e-6 * math.Max(1, math.Abs(float64(v)))
				if float64(v) < b.Lo || float64(v) > b.Hi {
					t.Errorf("seed %d %s %s: value %d outside bounds [%v, %v]", seed, CellName(&cells[i]), m, v, b.Lo, b.Hi)
				}
				if b.Lo > iv.Lo+eps || b.Hi < iv.Hi-eps {
					t.Errorf("seed %d %s %s: bounds [%v, %v] inside the LP range [%v, %v]", seed, CellName(&cells[i]), m, b.Lo, b.Hi, iv.Lo, iv.Hi)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}
