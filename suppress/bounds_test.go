package suppress

import (
	"math"
	"math/rand/v2"
	"slices"
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

// relationsByName is relations as it was first written, keyed by the cost
// centres' names: the reference TestRelationsAsByName holds the packed
// keys to.
func relationsByName(cells []ur.Cell) []relation {
	type key struct {
		set  ur.GroupingSet
		cc   string
		svc  ur.Service
		zone ur.Zone
	}
	keyOf := func(c *ur.Cell, set ur.GroupingSet) key {
		k := key{set: set}
		if set.Has(ur.ByCostCentre) {
			k.cc = c.CostCentre
		}
		if set.Has(ur.ByService) {
			k.svc = c.Service
		}
		if set.Has(ur.ByZone) {
			k.zone = c.Zone
		}
		return k
	}
	index := make(map[key]int32, len(cells))
	for i := range cells {
		index[keyOf(&cells[i], cells[i].Set)] = int32(i)
	}
	var rels []relation
	type relKey struct {
		parent int32
		dim    ur.GroupingSet
	}
	byParent := make(map[relKey]int)
	for i := range cells {
		c := &cells[i]
		for _, d := range []ur.GroupingSet{ur.ByCostCentre, ur.ByService, ur.ByZone} {
			if !c.Set.Has(d) {
				continue
			}
			p, ok := index[keyOf(c, c.Set&^d)]
			if !ok {
				continue
			}
			rk := relKey{p, d}
			r, ok := byParent[rk]
			if !ok {
				r = len(rels)
				byParent[rk] = r
				rels = append(rels, relation{parent: p})
			}
			rels[r].children = append(rels[r].children, int32(i))
		}
	}
	return rels
}

// TestRelationsAsByName checks that relations lists the same relations,
// in the same order and with the same parts, as the version keyed by
// name, on random cubes (with cost centres of one name in several) and on
// a cube with a finest cell missing.
func TestRelationsAsByName(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 29))
		cells := cubeCells(t, randomRecords(r, genConfig{orgs: 1, minSubs: 5, maxSubs: 40, maxCCs: 8, maxEvents: 6}))
		if seed%4 == 3 && len(cells) > 2 {
			cells = append(cells[:1], cells[2:]...)
		}
		got, want := relations(cells), relationsByName(cells)
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d relations, want %d", seed, len(got), len(want))
		}
		for k := range want {
			if got[k].parent != want[k].parent || !slices.Equal(got[k].children, want[k].children) {
				t.Fatalf("seed %d: relation %d is %v, want %v", seed, k, got[k], want[k])
			}
		}
		if len(want) == 0 {
			t.Fatalf("seed %d: no relations in %d cells", seed, len(cells))
		}
	}
}

// TestPropagateAsFull holds propagation, which passes over a relation
// only when a range of its cells changed, to the passes over every
// relation (propagateFull): the same ranges, bit for bit, on random
// organisations, one propagation reused as cells are hidden one by one
// (as widenByBounds reuses it), and with published values made to
// contradict each other.
func TestPropagateAsFull(t *testing.T) {
	compared, moved := 0, 0
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 41))
		cells := cubeCells(t, randomRecords(r, genConfig{orgs: 1, minSubs: 5, maxSubs: 120, maxCCs: 12, maxEvents: 6}))
		for i := range cells {
			if i > 0 && r.IntN(4) == 0 {
				cells[i].Suppression = ur.HiddenSmall
			}
		}
		if seed%3 == 2 {
			// Published values off by one or two: some ranges come out
			// empty.
			for range 1 + r.IntN(3) {
				i := r.IntN(len(cells))
				cells[i].Events += int64(1 + r.IntN(2))
				cells[i].DurationS++
			}
		}
		rels := relations(cells)
		prop := newPropagation(rels, len(cells))
		lo, hi := make([]int64, len(cells)), make([]int64, len(cells))
		wantLo, wantHi := make([]int64, len(cells)), make([]int64, len(cells))
		for trial := range 6 {
			if trial > 0 {
				cells[r.IntN(len(cells))].Suppression = ur.HiddenSecondary
			}
			for m := range ur.NumMeasures {
				floor := int64(0)
				if m == ur.Events {
					floor = 1
				}
				prop.into(cells, m, floor, lo, hi)
				propagateFull(cells, rels, m, floor, wantLo, wantHi)
				if !slices.Equal(lo, wantLo) || !slices.Equal(hi, wantHi) {
					t.Fatalf("seed %d trial %d %s: ranges differ from the passes over every relation", seed, trial, m)
				}
				for i := range cells {
					if lo[i] != hi[i] && cells[i].Suppression.Hidden() && (lo[i] != floor || hi[i] != unbounded) {
						moved++ // propagation narrowed a hidden cell's range
						break
					}
				}
				compared++
			}
		}
	}
	if compared == 0 || moved == 0 {
		t.Fatalf("compared %d, with a range narrowed %d: nothing exercised", compared, moved)
	}
}

// propagateFull is propagateInto as it was first written: every pass over
// every relation. TestPropagateAsFull holds propagation to it.
func propagateFull(cells []ur.Cell, rels []relation, m ur.Measure, floor int64, lo, hi []int64) ([]int64, []int64) {
	propagateReset(cells, m, floor, lo, hi)
	sat := func(a, b int64) int64 { return min(a+b, unbounded) }
	for pass := 0; pass < maxPropagationPasses; pass++ {
		changed := false
		for _, r := range rels {
			var sumLo, sumHi int64
			for _, c := range r.children {
				sumLo = sat(sumLo, lo[c])
				sumHi = sat(sumHi, hi[c])
			}
			p := r.parent
			lp, hp := lo[p], hi[p]
			if sumLo > lp {
				lp, changed = sumLo, true
				lo[p] = lp
			}
			if sumHi < hp {
				hp, changed = sumHi, true
				hi[p] = hp
			}
			capHi, liftLo := hp < unbounded, sumHi < unbounded
			if !capHi && !liftLo {
				continue
			}
			for _, c := range r.children {
				if capHi {
					if l := hp - (sumLo - lo[c]); l < hi[c] {
						hi[c], changed = l, true
					}
				}
				if liftLo {
					if l := lp - (sumHi - hi[c]); l > lo[c] {
						lo[c], changed = l, true
					}
				}
			}
		}
		if !changed {
			break
		}
	}
	return lo, hi
}
