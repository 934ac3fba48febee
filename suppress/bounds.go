package suppress

import (
	"cmp"
	"math"
	"slices"

	ur "usagereport"
)

// Bounds propagation: the cheap attacker. Every "total = sum of parts"
// relation of the cube tightens the range of each of its cells from the
// ranges of the others, until nothing changes. The ranges it finds contain
// every value the published cells allow (each step only drops values no
// solution has), so a range it finds too narrow is too narrow; a range it
// finds wide may still be narrower under the linear programs of Intervals.
// It costs a few passes over the cells, so it runs on reports of any size,
// where the linear programs do not.

// maxPropagationPasses bounds the passes of one propagation.
const maxPropagationPasses = 4

// unbounded stands for +Inf in integer ranges; sums saturate at it.
const unbounded = math.MaxInt64 / 4

type relation struct {
	parent   int32
	children []int32
}

// relations lists, for every cell and every dimension it sums over, the
// cell and its parts along that dimension: the relations in the order
// their first part comes in the cells (then by dimension), each relation's
// parts in cell order. The parts of all relations share one slab, so that
// propagation reads them in order.
func relations(cells []ur.Cell) []relation {
	// A cell is known by its grouping set, cost centre (numbered as met),
	// service and zone, packed in a word: hashing that is much cheaper than
	// hashing the cost centre's name for every lookup.
	ccs := make(map[string]uint64)
	keys := make([]uint64, len(cells))
	for i := range cells {
		c := &cells[i]
		var cc uint64
		if c.Set.Has(ur.ByCostCentre) {
			id, ok := ccs[c.CostCentre]
			if !ok {
				id = uint64(len(ccs)) + 1
				ccs[c.CostCentre] = id
			}
			cc = id
		}
		keys[i] = cc<<24 | uint64(c.Set)<<16 | uint64(c.Service)<<8 | uint64(c.Zone)
	}
	keyOf := func(i int, set ur.GroupingSet) uint64 {
		c := &cells[i]
		k := uint64(set) << 16
		if set.Has(ur.ByCostCentre) {
			k |= keys[i] &^ (1<<24 - 1)
		}
		if set.Has(ur.ByService) {
			k |= uint64(c.Service) << 8
		}
		if set.Has(ur.ByZone) {
			k |= uint64(c.Zone)
		}
		return k
	}
	index := make(map[uint64]int32, len(cells))
	for i := range cells {
		index[keyOf(i, cells[i].Set)] = int32(i)
	}
	var rels []relation
	dims := [...]ur.GroupingSet{ur.ByCostCentre, ur.ByService, ur.ByZone}
	// Per parent and dimension: 1 + its relation's index, or 0.
	byParent := make([][len(dims)]int32, len(cells))
	nchildren := 0
	for i := range cells {
		c := &cells[i]
		for d, dim := range dims {
			if !c.Set.Has(dim) {
				continue
			}
			// c is a part of the cell without dimension d.
			p, ok := index[keyOf(i, c.Set&^dim)]
			if !ok {
				continue
			}
			r := byParent[p][d] - 1
			if r < 0 {
				r = int32(len(rels))
				byParent[p][d] = r + 1
				rels = append(rels, relation{parent: p})
			}
			rels[r].children = append(rels[r].children, int32(i))
			nchildren++
		}
	}
	slab := make([]int32, 0, nchildren)
	for r := range rels {
		from := len(slab)
		slab = append(slab, rels[r].children...)
		rels[r].children = slab[from:len(slab):len(slab)]
	}
	return rels
}

// propagate returns the ranges of measure m, starting from the published
// values and, for hidden cells, [floor, +Inf).
func propagate(cells []ur.Cell, rels []relation, m ur.Measure, floor int64) (lo, hi []int64) {
	return propagateInto(cells, rels, m, floor, make([]int64, len(cells)), make([]int64, len(cells)))
}

// propagateInto is propagate into lo and hi, of len(cells) each.
func propagateInto(cells []ur.Cell, rels []relation, m ur.Measure, floor int64, lo, hi []int64) ([]int64, []int64) {
	return newPropagation(rels, len(cells)).into(cells, m, floor, lo, hi)
}

// propagation runs propagate's passes over one list of relations, as
// many times as asked, skipping in a pass the relations a pass over
// would leave unchanged.
type propagation struct {
	rels []relation
	// the relations each cell is in (as parent or part): cell i's are
	// of[start[i]:start[i+1]]
	start, of []int32
	// dirty: a pass over the relation may change a range (one of its
	// cells changed since the last pass over it, or that pass changed
	// one)
	dirty []bool
}

// newPropagation indexes rels over n cells.
func newPropagation(rels []relation, n int) *propagation {
	start := make([]int32, n+1)
	for r := range rels {
		start[rels[r].parent+1]++
		for _, c := range rels[r].children {
			start[c+1]++
		}
	}
	for i := range n {
		start[i+1] += start[i]
	}
	of := make([]int32, start[n])
	fill := slices.Clone(start[:n])
	for r := range rels {
		p := rels[r].parent
		of[fill[p]] = int32(r)
		fill[p]++
		for _, c := range rels[r].children {
			of[fill[c]] = int32(r)
			fill[c]++
		}
	}
	return &propagation{rels: rels, start: start, of: of, dirty: make([]bool, len(rels))}
}

// into is propagateInto over the propagation's relations.
//
// A pass over a relation is a function of its cells' ranges: one that
// changed nothing changes nothing again until one of those ranges
// changes. So a relation is passed over only while dirty: at first, and
// after a change to one of its cells (its own changes included). The
// ranges, and when the passes stop, are those of the passes over every
// relation (propagateFull, which TestPropagateAsFull holds it to).
func (pr *propagation) into(cells []ur.Cell, m ur.Measure, floor int64, lo, hi []int64) ([]int64, []int64) {
	propagateReset(cells, m, floor, lo, hi)
	rels, dirty := pr.rels, pr.dirty
	for r := range dirty {
		dirty[r] = true
	}
	touch := func(c int32) {
		for _, r := range pr.of[pr.start[c]:pr.start[c+1]] {
			dirty[r] = true
		}
	}
	sat := func(a, b int64) int64 { return min(a+b, unbounded) }
	// Any pass leaves outer ranges, so stopping early only loosens them.
	// Ranges that still move after a few passes crawl (two relations
	// trading a unit at a time); on the benchmark months the passes after
	// the fourth changed no decision of Widen's, and took a third of the
	// time.
	for pass := 0; pass < maxPropagationPasses; pass++ {
		changed := false
		for ri := range rels {
			if !dirty[ri] {
				continue
			}
			dirty[ri] = false
			r := &rels[ri]
			var sumLo, sumHi int64
			for _, c := range r.children {
				sumLo = sat(sumLo, lo[c])
				sumHi = sat(sumHi, hi[c])
			}
			// The parent's range, held while its parts move (a part is
			// never its own total).
			p := r.parent
			lp, hp := lo[p], hi[p]
			if sumLo > lp {
				lp, changed = sumLo, true
				lo[p] = lp
				touch(p)
			}
			if sumHi < hp {
				hp, changed = sumHi, true
				hi[p] = hp
				touch(p)
			}
			capHi, liftLo := hp < unbounded, sumHi < unbounded
			if !capHi && !liftLo {
				continue
			}
			for _, c := range r.children {
				// c = p - others: at least lo[p] - hi(others), at most
				// hi[p] - lo(others).
				if capHi {
					if l := hp - (sumLo - lo[c]); l < hi[c] {
						hi[c], changed = l, true
						touch(c)
					}
				}
				if liftLo {
					if l := lp - (sumHi - hi[c]); l > lo[c] {
						lo[c], changed = l, true
						touch(c)
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

// propagateReset sets lo and hi to the ranges propagation starts from.
func propagateReset(cells []ur.Cell, m ur.Measure, floor int64, lo, hi []int64) {
	for i := range cells {
		if cells[i].Suppression.Hidden() || (cells[i].Set == 0 && hides(&cells[i], m)) {
			lo[i], hi[i] = floor, unbounded
		} else {
			v := m.Value(&cells[i])
			lo[i], hi[i] = v, v
		}
	}
}

// maxBoundTrials bounds the moves widenByBounds tries for one report
// (maxBoundTrialsPerCell for one range), and maxBoundRounds its rounds
// (each ends with a Secondary run).
const (
	maxBoundTrials        = 40
	maxBoundTrialsPerCell = 5
	maxBoundRounds        = 5
)

// widenByBounds is Widen's cheap first pass: the same rule, with the
// ranges bounds propagation finds (outer ranges: one it finds too narrow
// is too narrow, so no linear program is spent on finding that out). It catches
// the ranges one relation pins (x + y = 3 with both at least 1), not those
// only a combination of relations pins. It returns how many (cell,
// measure) pairs are still too narrow by its ranges.
func widenByBounds(cells []ur.Cell, cfg Config) int {
	l := newLayout(cells)
	l.costs = cfg.costs
	l.keep = cfg.keep
	rels := relations(cells)
	prop := newPropagation(rels, len(cells))
	n := len(cells)
	bufLo, bufHi, spareLo, spareHi := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	measures := []ur.Measure{ur.Events, ur.Duration, ur.Volume}
	credit := false
	for i := range cells {
		credit = credit || cells[i].Charge < 0
	}
	if !credit {
		measures = append(measures, ur.Charge)
	}
	trials := maxBoundTrials
	narrow := 0
	for round := 0; round <= maxBoundRounds; round++ {
		narrow = 0
		var hid []int
		for _, m := range measures {
			floor := int64(0)
			if m == ur.Events {
				floor = 1
			}

			p := cfg.WithDefaults().DominanceP / 100
			lo, hi := prop.into(cells, m, floor, bufLo, bufHi)
			for h := range cells {
				if !Sensitive(&cells[h], m, cfg) {
					continue
				}
				v := m.Value(&cells[h])
				total := l.upperCap(cells, h, m)
				iv := boundInterval(h, m, lo[h], hi[h])
				if Protected(iv, v, total, cfg) {
					continue
				}
				narrow++
				if round == maxBoundRounds || trials <= 0 {
					continue
				}
				fv := float64(v)
				hiWant, loWant := min(fv+1, float64(total)), fv-1
				if m != ur.Events {
					hiWant, loWant = min(fv*(1+p), float64(total)), fv*(1-p)
				}
				for k, u := range l.relatedOpen(cells, h) {
					if trials <= 0 || k == maxBoundTrialsPerCell {
						break
					}
					trials--
					cells[u].Suppression = ur.HiddenSecondary
					lo2, hi2 := prop.into(cells, m, floor, spareLo, spareHi)
					after := boundInterval(h, m, lo2[h], hi2[h])
					if (iv.Hi < hiWant && after.Hi > iv.Hi) || (iv.Lo > loWant && after.Lo < iv.Lo) {
						lo, hi = lo2, hi2
						// The trial's ranges are the current ones now; the
						// old buffers become the spare ones.
						bufLo, bufHi, spareLo, spareHi = spareLo, spareHi, bufLo, bufHi
						hid = append(hid, u)
						break
					}
					cells[u].Suppression = ur.Published
				}
			}
		}
		if len(hid) == 0 {
			return narrow
		}
		// Only a newly hidden cell can be given away (see Widen).
		if l.anyDetermined(cells, hid) {
			secondaryBy(cells, cfg.costs, cfg.keep)
		}
	}
	return narrow
}

func boundInterval(i int, m ur.Measure, lo, hi int64) Interval {
	iv := Interval{Cell: i, Measure: m, Lo: float64(lo), Hi: float64(hi)}
	if hi >= unbounded {
		iv.Hi = math.Inf(1)
	}
	return iv
}

// relatedOpen lists the published cells sharing an equation with h (same
// block, a global cell, or h's shape in another cost centre) that may be
// hidden, cheapest first.
func (l *layout) relatedOpen(cells []ur.Cell, h int) []int {
	var out []int
	add := func(i int) {
		// The three sources below are disjoint: no duplicates.
		if i != h && !cells[i].Suppression.Hidden() && !l.fixed(cells, i) {
			out = append(out, i)
		}
	}
	if b := l.block[h]; b >= 0 {
		for _, i := range l.ccs[b].cells {
			add(int(i))
		}
	}
	for _, i := range l.global.cells {
		add(int(i))
	}
	for e := range l.ccs {
		if int32(e) != l.block[h] {
			if j := l.find(cells, &l.ccs[e], l.mask[h]); j >= 0 {
				add(j)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b int) int {
		if c := l.costCmp(&cells[a], &cells[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return out
}
