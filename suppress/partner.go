package suppress

import (
	"cmp"
	"math"
	"slices"

	ur "usagereport"
)

// Step 2 of Secondary and its last resort: cells a block cannot protect
// alone get a partner cost centre, or a cell that breaks the combination.

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
	if len(cands) > 0 {
		pr := l.newHideProbe(cells, h)
		for _, u := range cands {
			cells[u].Suppression = ur.HiddenSecondary
			if !pr.determinedWith(cells, int(u)) {
				return true
			}
			cells[u].Suppression = ur.Published
		}
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

// hideProbe answers determined(h) for the pattern it was made from with
// one more cell hidden, without computing the spaces of bases again for
// each: unstick tries up to hundreds of cells for one h, and bases is
// linear in the cost centres, so trying them by determined made unstick
// quadratic in a large organisation.
//
// Hiding cell u changes one known span only: L of u's cost centre, or G
// when u is global. So with the spaces of the other blocks kept, the
// spaces determined uses are one or two intersections away:
//
//   - h in cost centre b: h is determined when it lies in L_b + W_b, W_b
//     = G ∩ X_b, X_b the intersection of the L of every cost centre but
//     b. Hiding u in b changes L_b only; a global u changes G only; u in
//     another cost centre e changes X_b to X_{b,e} ∩ L_e', X_{b,e} the
//     intersection over every cost centre but b and e.
//   - h global: h is determined when it lies in G + Z, Z the
//     intersection of every L. A global u changes G; u in cost centre e
//     changes Z to X_e ∩ L_e'.
//
// The intersections over all cost centres but one (or but b and one) are
// read off prefix and suffix intersections over the classes of bases.
type hideProbe struct {
	l     *layout
	h     int
	b     int32 // h's block
	v     vec   // h's vector
	class []int32
	lb    space // L_b (b >= 0)
	g     space
	xb    space // X_b (b >= 0), or Z (b < 0)
	wb    space // G ∩ X_b (b >= 0)
	ex    exclusion
}

// exclusion gives the intersection of the known spans of a multiset of
// classes with one member left out.
type exclusion struct {
	known    []space
	count    []int // members per class; a class of none is left out
	pre, suf []space
}

func newExclusion(known []space, count []int) exclusion {
	n := len(known)
	x := exclusion{known: known, count: count, pre: make([]space, n+1), suf: make([]space, n+1)}
	x.pre[0], x.suf[n] = fullSpace(), fullSpace()
	for k := range n {
		x.pre[k+1] = x.pre[k]
		if count[k] > 0 {
			x.pre[k+1] = intersect(&x.pre[k], &known[k])
		}
	}
	for k := n - 1; k >= 0; k-- {
		x.suf[k] = x.suf[k+1]
		if count[k] > 0 {
			x.suf[k] = intersect(&x.suf[k+1], &known[k])
		}
	}
	return x
}

// all returns the intersection over every member.
func (x *exclusion) all() space { return x.pre[len(x.known)] }

// without returns the intersection over every member but one of class k.
func (x *exclusion) without(k int32) space {
	if x.count[k] > 1 {
		return x.all()
	}
	return intersect(&x.pre[k], &x.suf[k+1])
}

func (l *layout) newHideProbe(cells []ur.Cell, h int) *hideProbe {
	var bs blockSpaces
	l.classify(cells, &bs)
	p := &hideProbe{l: l, h: h, b: l.block[h], v: maskVec(l.mask[h]), class: bs.class}
	p.g = l.known(cells, &l.global)
	count := bs.count
	if p.b >= 0 {
		k := bs.class[p.b]
		p.lb = bs.known[k]
		count = slices.Clone(count)
		count[k]-- // b is left out of every intersection
	}
	p.ex = newExclusion(bs.known, count)
	p.xb = p.ex.all()
	if p.b >= 0 {
		p.wb = intersect(&p.g, &p.xb)
	}
	return p
}

// determinedWith reports what determined(cells, h) does, with cells the
// pattern the probe was made from and cell u hidden too.
func (p *hideProbe) determinedWith(cells []ur.Cell, u int) bool {
	l := p.l
	e := l.block[u]
	if p.b < 0 {
		g, z := p.g, p.xb
		if e < 0 {
			g = l.known(cells, &l.global)
		} else {
			le := l.known(cells, &l.ccs[e])
			x := p.ex.without(p.class[e])
			z = intersect(&x, &le)
		}
		g.addSpace(&z)
		return g.contains(p.v)
	}
	s, w := p.lb, p.wb
	switch {
	case e == p.b:
		s = l.known(cells, &l.ccs[e])
	case e < 0:
		g := l.known(cells, &l.global)
		w = intersect(&g, &p.xb)
	default:
		le := l.known(cells, &l.ccs[e])
		x := p.ex.without(p.class[e])
		x = intersect(&x, &le)
		w = intersect(&p.g, &x)
	}
	s.addSpace(&w)
	return s.contains(p.v)
}
