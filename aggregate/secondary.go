package aggregate

import (
	"cmp"
	"math"
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
				if cells[h].Suppression.Hidden() && l.determined(cells, h) && l.unstick(cells, h) {
					changed = true
				}
			}
			if !changed {
				return
			}
			for c := range dirty {
				dirty[c] = true
			}
			globalDirty = true
		}
		anyDirty = slices.Contains(dirty, true)
	}
}

// costCmp orders cells by what hiding them costs a reader: the charge they
// hide (its size, credits too), a cost-centre total's weighted by
// costCentreWeight since finance allocates costs by cost centre; then
// subscribers, then events.
func costCmp(a, b *ur.Cell) int {
	if c := cmp.Compare(hideCost(a), hideCost(b)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Subscribers, b.Subscribers); c != 0 {
		return c
	}
	return cmp.Compare(a.Events, b.Events)
}

// costOrder is what makes a cell cheap to hide.
type costOrder uint8

const (
	byCharge      costOrder = iota // costCmp: the charge hidden, a cost-centre total's weighted
	bySubscribers                  // subscribers first, then the charge (unweighted), then events
)

// costCmp is costCmp in l's cost order.
func (l *layout) costCmp(a, b *ur.Cell) int {
	if l.costs == bySubscribers {
		if c := cmp.Compare(a.Subscribers, b.Subscribers); c != 0 {
			return c
		}
		if c := cmp.Compare(absAmount(a.Charge), absAmount(b.Charge)); c != 0 {
			return c
		}
		return cmp.Compare(a.Events, b.Events)
	}
	return costCmp(a, b)
}

// costCentreWeight is how much more a cost-centre total's charge weighs
// than a finer or global cell's in costCmp.
const costCentreWeight = 100

// hideCost is the charge hiding c takes from a reader, in units of 1/10000
// NOK, a cost-centre total's weighted by costCentreWeight (saturating: no
// report comes near).
func hideCost(c *ur.Cell) ur.Amount {
	a := absAmount(c.Charge)
	if c.Set != ur.ByCostCentre {
		return a
	}
	if a > math.MaxInt64/costCentreWeight {
		return math.MaxInt64
	}
	return a * costCentreWeight
}

func absAmount(a ur.Amount) ur.Amount {
	if a < 0 {
		return -a
	}
	return a
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
	var hidden []vec // the hidden cells' vectors reduced by what is known
	var cands []int32
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
		p := -1
		for j := range dim {
			if r[j] != 0 {
				p = j
				break
			}
		}
		if p < 0 {
			continue // already determined: publishing it tells nothing new
		}
		if r[p] != 1 {
			inv := invMod(r[p])
			for j := p; j < dim; j++ {
				r[j] = mulMod(r[j], inv)
			}
		}
		if givesAway(hidden, &r, p) {
			cells[u].Suppression = ur.HiddenSecondary
			changed = true
			hidden = append(hidden, r)
			continue
		}
		known.addReduced(r)
		for h := range hidden {
			hr := &hidden[h]
			f := hr[p]
			if f == 0 {
				continue
			}
			for j := range dim {
				if r[j] != 0 {
					hr[j] = subMod(hr[j], mulMod(f, r[j]))
				}
			}
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

// find returns the cell of block b that sums exactly the finest cells m, or
// -1.
func (l *layout) find(cells []ur.Cell, b *ccBlock, m uint16) int {
	for _, i := range b.cells {
		if l.mask[i] == m {
			return int(i)
		}
	}
	return -1
}

// partner picks the cost centre that can take cost centre c's hidden
// pattern most cheaply: the cells of c that need protection must exist
// there, and the price is what the cells still published there are worth
// (hideCost, then subscribers).
func (l *layout) partner(cells []ur.Cell, c int, need []int32) int {
	best := -1
	var bestSubs int64
	var bestCharge ur.Amount
	for e := range l.ccs {
		if e == c {
			continue
		}
		var subs int64
		var charge ur.Amount
		ok, some := true, false
		for _, i := range need {
			if l.find(cells, &l.ccs[e], l.mask[i]) < 0 {
				ok = false
				break
			}
		}
		for _, i := range l.ccs[c].cells {
			if !ok || !cells[i].Suppression.Hidden() {
				continue
			}
			if j := l.find(cells, &l.ccs[e], l.mask[i]); j >= 0 && !cells[j].Suppression.Hidden() {
				if l.fixed(cells, j) {
					ok = false // a cell that must stay published cannot take the pattern
					break
				}
				subs += cells[j].Subscribers
				charge = min(charge, math.MaxInt64-hideCost(&cells[j])) + hideCost(&cells[j])
				some = true
			}
		}
		if !ok || !some {
			continue
		}
		better := charge < bestCharge || (charge == bestCharge && subs < bestSubs)
		if l.costs == bySubscribers {
			better = subs < bestSubs || (subs == bestSubs && charge < bestCharge)
		}
		if best < 0 || better {
			best, bestSubs, bestCharge = e, subs, charge
		}
	}
	return best
}

// mirror hides in cost centre e the cells hidden in c.
func (l *layout) mirror(cells []ur.Cell, c, e int) {
	for _, i := range l.ccs[c].cells {
		if !cells[i].Suppression.Hidden() {
			continue
		}
		if j := l.find(cells, &l.ccs[e], l.mask[i]); j >= 0 && !cells[j].Suppression.Hidden() && !l.fixed(cells, j) {
			cells[j].Suppression = ur.HiddenSecondary
		}
	}
}

// determined reports whether hidden cell h is determined by the published
// cells, as Audit decides it.
func (l *layout) determined(cells []ur.Cell, h int) bool {
	return l.anyDetermined(cells, []int{h})
}

// anyDetermined reports whether any of the hidden cells hs is determined
// by the published ones.
func (l *layout) anyDetermined(cells []ur.Cell, hs []int) bool {
	bs := l.bases(cells)
	g := bs.g
	g.addSpace(&bs.z)
	for _, h := range hs {
		if l.determinedIn(bs, &g, h) {
			return true
		}
	}
	return false
}

// determinedIn is determined with the spaces of bases (g already holding
// z).
func (l *layout) determinedIn(bs *blockSpaces, g *space, h int) bool {
	v := maskVec(l.mask[h])
	if b := l.block[h]; b >= 0 {
		s := *bs.knownOf(int(b))
		s.addSpace(bs.wOf(int(b)))
		return s.contains(v)
	}
	return g.contains(v)
}

// unstick is the last resort for a hidden cell h that the rounds could not
// protect: it hides the cheapest published cell, among the global cells,
// h's block and the cells of h's shape, whose hiding leaves h undetermined;
// failing that, the cheapest of them that overlaps h, so that the next try
// starts from less. It reports whether it hid anything.
func (l *layout) unstick(cells []ur.Cell, h int) bool {
	var cands []int32
	add := func(i int32) {
		if !cells[i].Suppression.Hidden() && !l.fixed(cells, int(i)) {
			cands = append(cands, i)
		}
	}
	for _, i := range l.global.cells {
		add(i)
	}
	if b := l.block[h]; b >= 0 {
		for _, i := range l.ccs[b].cells {
			add(i)
		}
	} else {
		for e := range l.ccs {
			if j := l.find(cells, &l.ccs[e], l.mask[h]); j >= 0 {
				add(int32(j))
			}
		}
	}
	near := len(cands)
	// What the other cost centres all know gives a cell away too (W_c,
	// Z): the voice calls abroad that every cost centre shows or has none
	// of, say. Their cells come after, up to a bound on the trials.
	for e := range l.ccs {
		if int32(e) == l.block[h] {
			continue
		}
		for _, i := range l.ccs[e].cells {
			if len(cands) >= near+maxUnstickFar {
				break
			}
			if l.mask[i]&l.mask[h] != 0 {
				add(i)
			}
		}
	}
	byCost := func(a, b int32) int {
		if c := l.costCmp(&cells[a], &cells[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	slices.SortStableFunc(cands[:near], byCost)
	slices.SortStableFunc(cands[near:], byCost)
	for _, u := range cands {
		cells[u].Suppression = ur.HiddenSecondary
		if !l.determined(cells, h) {
			return true
		}
		cells[u].Suppression = ur.Published
	}
	cands = cands[:near]
	for _, u := range cands {
		if l.mask[u]&l.mask[h] != 0 {
			cells[u].Suppression = ur.HiddenSecondary
			return true
		}
	}
	return false
}

// maxUnstickFar bounds the cells of other cost centres unstick tries.
const maxUnstickFar = 256

// fixed reports whether cell i is the organisation's total or the total
// under another name: a cell that holds every finest cell with events (a
// global cell whose missing finest cells are all absent, or the cell of
// the only cost centre). It tells by the layout alone, so it holds for a
// report read back from a file, and for a cube it means a cell with all
// of the total's events. Secondary never hides it: what it shows, the
// published total shows. It is hidden only with the total's measures that
// the p%-rule hides (see Dominance), for those.
func (l *layout) fixed(cells []ur.Cell, i int) bool {
	if i == l.total || (l.keep != nil && l.keep[i]) {
		return true
	}
	if l.total < 0 {
		return false
	}
	if b := l.block[i]; b >= 0 {
		return len(l.ccs) == 1 && (allMask&^l.mask[i])&^l.ccs[b].absent == 0
	}
	return (allMask&^l.mask[i])&^l.global.absent == 0
}
