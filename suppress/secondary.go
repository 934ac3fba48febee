package suppress

import (
	"cmp"
	"slices"

	ur "usagereport"
)

// Secondary hides further cells (HiddenSecondary) until no hidden cell of
// the report is determined by the published ones, preferring to hide cells
// of little value: few subscribers, then small charge. The organisation's
// total (Set 0) is never hidden. The same cells in give the same pattern.
//
// The method is Gaussian elimination with costs, as Statistics Norway's
// GaussSuppression does it, made cheap by the cube's shape (see layout):
//
//  1. Per block (a cost centre, or the global cells), with what the rest of
//     the cube gives away about it taken as known (W_c, or Z), the block's
//     published cells are offered in order of value, most valuable first.
//     A cell stays published unless publishing it would make a hidden cell
//     of the block a combination of known vectors; then it is hidden
//     instead. Each test is a rank test in 12 dimensions.
//  2. A hidden cell that the rest of the cube alone gives away cannot be
//     saved inside its block: a partner cost centre (the cheapest one) gets
//     the same pattern hidden, so that the two can trade amounts unseen.
//     A hidden global cell given away by the cost centres gets its
//     cheapest cost-centre part hidden.
//
// Rounds repeat until nothing changes. Hiding only ever removes knowledge,
// so a round never undoes the protection of an earlier one. The result is
// checked by Audit in Cubes; Secondary itself never publishes a hidden cell.
func Secondary(cells []ur.Cell) {
	secondaryBy(cells, byCharge, nil)
}

// secondaryBy is Secondary with the cost order o, never hiding the cells
// keep marks (nil: none).
func secondaryBy(cells []ur.Cell, o costOrder, keep []bool) {
	secondaryWithin(cells, o, keep, -1)
}

// secondaryWithin is secondaryBy that gives up, returning false with the
// pattern half done, once the pattern's cost (patternCost) reaches budget
// (budget < 0: never). Hiding only adds to the cost, so the pattern it
// would have finished costs at least budget too: the swap, which refuses
// any trade that does not cost less than before, needs no more of it.
// (Most of the swap's failing trials on the second generator's data are
// too costly once Secondary is done, and much of Secondary's work there
// is its last resort, unstick.)
func secondaryWithin(cells []ur.Cell, o costOrder, keep []bool, budget ur.Amount) bool {
	over := func() bool { return budget >= 0 && patternCost(cells) >= budget }
	l := newLayout(cells)
	l.costs = o
	l.keep = keep
	dirty := make([]bool, len(l.ccs))
	anyDirty := false
	for c := range l.ccs {
		for _, i := range l.ccs[c].cells {
			if cells[i].Suppression.Hidden() {
				dirty[c], anyDirty = true, true
				break
			}
		}
	}
	globalDirty := false
	for _, i := range l.global.cells {
		globalDirty = globalDirty || cells[i].Suppression.Hidden()
	}
	for anyDirty || globalDirty {
		if over() {
			return false
		}
		bs := l.bases(cells)
		z := bs.z
		changed := false
		type cross struct {
			c         int
			unfixable []int32
		}
		var crossCC []cross
		var crossGlobal []int32
		for c := range l.ccs {
			if !dirty[c] {
				continue
			}
			dirty[c] = false
			base := *bs.wOf(c)
			addUnits(&base, l.ccs[c].absent)
			unfixable, ch := l.greedy(cells, l.ccs[c].cells, &base)
			changed = changed || ch
			if len(unfixable) > 0 {
				// The rest of the cube gives these away. At least keep
				// the block itself from doing so, so that what it tells
				// the rest shrinks, and look again once the rest changed.
				var own space
				addUnits(&own, l.ccs[c].absent)
				_, ch := l.greedy(cells, l.ccs[c].cells, &own)
				changed = changed || ch
				dirty[c] = true
				crossCC = append(crossCC, cross{c, unfixable})
			}
		}
		if globalDirty {
			if changed {
				// The cost centres just hid cells: what they give away
				// about the global block has shrunk.
				z = l.bases(cells).z
			}
			base := z
			addUnits(&base, l.global.absent)
			base.addMask(allMask) // the organisation total is always published
			unfixable, ch := l.greedy(cells, l.global.cells, &base)
			changed = changed || ch
			crossGlobal = unfixable
			globalDirty = len(unfixable) > 0
			if globalDirty {
				var own space
				addUnits(&own, l.global.absent)
				own.addMask(allMask)
				_, ch := l.greedy(cells, l.global.cells, &own)
				changed = changed || ch
			}
		}
		for _, x := range crossCC {
			c := x.c
			if e := l.partner(cells, c, x.unfixable); e >= 0 {
				l.mirror(cells, c, e)
				dirty[c], dirty[e] = true, true
				changed = true
				continue
			}
			// No cost centre can take the pattern: hide the global cells
			// of the same shape instead.
			for _, i := range x.unfixable {
				if j := l.find(cells, &l.global, l.mask[i]); j >= 0 && !l.fixed(cells, j) && !cells[j].Suppression.Hidden() {
					cells[j].Suppression = ur.HiddenSecondary
					dirty[c], globalDirty, changed = true, true, true
				}
			}
		}
		for _, h := range crossGlobal {
			best := -1
			for e := range l.ccs {
				j := l.find(cells, &l.ccs[e], l.mask[h])
				if j < 0 || cells[j].Suppression.Hidden() || l.fixed(cells, j) {
					continue
				}
				if best < 0 || l.costCmp(&cells[j], &cells[best]) < 0 {
					best = j
				}
			}
			if best >= 0 {
				cells[best].Suppression = ur.HiddenSecondary
				dirty[l.block[best]], globalDirty, changed = true, true, true
			}
		}
		if !changed {
			// Stalled with cells still given away: hide, for each, a
			// cell that breaks the combination, then start over.
			res := Audit(cells)
			for _, h := range res.Disclosed {
				if over() {
					return false
				}
				if cells[h].Suppression.Hidden() && l.determined(cells, h) && l.unstick(cells, h) {
					changed = true
				}
			}
			if !changed {
				return true
			}
			for c := range dirty {
				dirty[c] = true
			}
			globalDirty = true
		}
		anyDirty = slices.Contains(dirty, true)
	}
	return true
}

// greedy is step 1 for one block, with base what the reader knows of it
// beyond its published cells. It returns the hidden cells that base alone
// determines (only a change elsewhere can save them) and whether it hid
// anything.
func (l *layout) greedy(cells []ur.Cell, idx []int32, base *space) (unfixable []int32, changed bool) {
	// A cell that must stay published (the organisation's total under
	// another name) is known whatever else is hidden: it is part of what
	// the reader knows, never a candidate. Hiding it would leave a cell
	// that the organisation's total gives away.
	kb := *base
	base = &kb
	for _, i := range idx {
		if l.fixed(cells, int(i)) {
			base.addMask(l.mask[i])
		}
	}
	// The hidden cells' vectors reduced by what is known, and the
	// candidates: in the layout's scratch, as greedy runs once per
	// changed cost centre, thousands of times in a large organisation.
	hidden, cands := l.greedyHidden[:0], l.greedyCands[:0]
	defer func() { l.greedyHidden, l.greedyCands = hidden[:0], cands[:0] }()
	for _, i := range idx {
		if l.fixed(cells, int(i)) {
			continue
		}
		if !cells[i].Suppression.Hidden() {
			cands = append(cands, i)
			continue
		}
		r := base.reduce(maskVec(l.mask[i]))
		if isZero(&r) {
			unfixable = append(unfixable, i)
			continue
		}
		hidden = append(hidden, r)
	}
	if len(hidden) == 0 {
		return unfixable, false
	}
	slices.SortStableFunc(cands, func(a, b int32) int {
		if c := l.costCmp(&cells[b], &cells[a]); c != 0 {
			return c // most valuable first
		}
		return cmp.Compare(a, b)
	})
	known := *base
	for _, u := range cands {
		r := known.reduce(maskVec(l.mask[u]))
		p := normalise(&r)
		if p < 0 {
			continue // already determined: publishing it tells nothing new
		}
		if givesAway(hidden, &r, p) {
			cells[u].Suppression = ur.HiddenSecondary
			changed = true
			hidden = append(hidden, r)
			continue
		}
		known.addReduced(r)
		for h := range hidden {
			eliminate(&hidden[h], &r, p)
		}
	}
	return unfixable, changed
}

// givesAway reports whether adding r (normalised at its pivot p) to what is
// known would determine a hidden cell: its residual is a multiple of r.
func givesAway(hidden []vec, r *vec, p int) bool {
	for h := range hidden {
		hr := &hidden[h]
		f := hr[p]
		if f == 0 {
			continue
		}
		same := true
		for j := range dim {
			if hr[j] != mulMod(f, r[j]) {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}
