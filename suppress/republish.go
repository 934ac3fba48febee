package suppress

import (
	"cmp"
	"slices"

	ur "usagereport"
)

// republish publishes again the secondary cells that the finished pattern
// no longer needs, the costliest first (costCmp: a cost-centre total's
// charge weighs most): Secondary and Widen hide cells one at a time, and a
// cell hidden early may be covered by those hidden after it. A cell is
// published again only when the exact audit still finds no hidden cell
// determined and no (cell, measure) pair's range is narrower than the rule
// allows that was not already (see Protected), both judged on the whole
// report. That takes the programs of the whole report, so only reports
// with up to maxRepublishUnknowns hidden finest cells are tried, and at
// most maxRepublishTrials cells each: for larger ones it does nothing.
// Above maxWidenUnknowns only the cost-centre totals are tried. It
// returns how many cells it published. count is narrowPairs' count of the
// pattern as it is, taken when first needed (see swapCostCentres).
func republish(cells []ur.Cell, cfg Config, count *pairCount) int {
	if hiddenFinest(cells) > maxRepublishUnknowns {
		return 0
	}
	narrow, ok := count.of(cells, cfg)
	if !ok {
		return 0
	}
	// Other cells than the cost-centre totals are tried only in reports
	// whose programs are small: they cost more tries than they give back.
	small := hiddenFinest(cells) <= maxWidenUnknowns
	var cands []int
	for i := range cells {
		if cells[i].Suppression == ur.HiddenSecondary && (small || cells[i].Set == ur.ByCostCentre) {
			cands = append(cands, i)
		}
	}
	slices.SortFunc(cands, func(a, b int) int {
		if c := costCmp(&cells[b], &cells[a]); c != 0 {
			return c // costliest first
		}
		return cmp.Compare(a, b)
	})
	published := 0
	l := newLayout(cells)
	g := newRelationIndex(cells)
	for k, i := range cands {
		if k == maxRepublishTrials || hideCost(&cells[i]) == 0 {
			break // a cell of no charge is left hidden: the trials go to charge
		}
		if narrow == 0 && capsSensitive(cells, l, i, cfg) {
			// Published, it would leave a range too narrow: no need for
			// the audit and the programs to say so (a quarter of the
			// cells tried on the second generator's data).
			continue
		}
		cells[i].Suppression = ur.Published
		if g.givesAway(cells, l, i) {
			// The audit would refuse it: most of its refusals on the
			// second generator's data are this case.
			cells[i].Suppression = ur.HiddenSecondary
			continue
		}
		if len(audit(cells, l).Disclosed) == 0 {
			// Publishing only narrows ranges: the same count means no
			// range got too narrow.
			if n, ok := narrowPairsUpTo(cells, l, cfg, narrow, i); ok && n <= narrow {
				published++
				continue
			}
		}
		cells[i].Suppression = ur.HiddenSecondary
	}
	return published
}

// maxRepublishTrials bounds the cells republish tries in one report.
const maxRepublishTrials = 16

// maxRepublishUnknowns bounds the hidden finest cells of the reports
// republish tries: the unknowns of its programs of the whole report.
const maxRepublishUnknowns = MaxIntervalUnknowns

// narrowPairs counts the (cell, measure) pairs that need a wide range (see
// Sensitive) and whose range in the whole report is too narrow (see
// Protected); ok is false when the programs could not be solved.
//
// It solves Widen's version of the programs (intervals with cfg): a pair
// stops being worked on once the tables seen show its range protected.
// The seen range lies inside the true one, and a range that holds a
// protected one is protected, so the count is the one the full programs
// give; the pairs whose range is narrow are solved in full. (The full
// programs of every sensitive pair were a sixth of the report step on the
// second generator's data.)
func narrowPairs(cells []ur.Cell, cfg Config) (n int, ok bool) {
	return narrowPairsUpTo(cells, nil, cfg, -1, -1)
}

// pairCount is narrowPairs' count of one pattern, once taken: the swap
// and republish both start from it, and when the swap trades nothing the
// pattern, and so the count, is the same (one whole-report count less per
// report).
type pairCount struct {
	n         int
	ok, taken bool
}

// of returns narrowPairs(cells, cfg), counted the first time only.
func (c *pairCount) of(cells []ur.Cell, cfg Config) (int, bool) {
	if !c.taken {
		c.n, c.ok = narrowPairs(cells, cfg)
		c.taken = true
	}
	return c.n, c.ok
}

// narrowPairsUpTo is narrowPairs that stops counting once the count passes
// limit (limit < 0: never): republish and the swap only ask whether it
// stays at most what it was, and most of the cells they try fail on one
// pair. n is then more than limit, and not the whole count. The pairs of
// cells in the cost centre of near (the global cells when near is one;
// near < 0: none) are worked on first: after publishing near, a pair that
// gets too narrow is mostly there. l is the cells' layout (nil: a new
// one); republish and the swap pass theirs, whose room (the problem, the
// tableau) then serves every pattern they try.
func narrowPairsUpTo(cells []ur.Cell, l *layout, cfg Config, limit, near int) (n int, ok bool) {
	if l == nil {
		l = newLayout(cells)
	}
	p, err := newIntervalProblem(cells, l, nil)
	if err != nil {
		return 0, false
	}
	narrow := func(iv Interval) bool {
		return !Protected(iv, iv.Measure.Value(&cells[iv.Cell]), l.upperCap(cells, iv.Cell, iv.Measure), cfg)
	}
	c := cutoff{}
	if limit >= 0 {
		c.bad, c.limit = narrow, limit
		if near >= 0 {
			c.first = func(i int) bool { return l.block[i] == l.block[near] }
		}
	}
	ivs, err := p.intervalsUpTo(cells, func(i int, m ur.Measure) bool { return Sensitive(&cells[i], m, cfg) }, &cfg, c)
	if err != nil {
		return 0, false
	}
	for _, iv := range ivs {
		if narrow(iv) {
			n++
		}
	}
	return n, true
}

// relationIndex lists, per cell, the relations (see relations) it is the
// total or a part of.
type relationIndex struct {
	rels []relation
	of   [][]int32
}

func newRelationIndex(cells []ur.Cell) *relationIndex {
	g := &relationIndex{rels: relations(cells), of: make([][]int32, len(cells))}
	for r, rel := range g.rels {
		g.of[rel.parent] = append(g.of[rel.parent], int32(r))
		for _, c := range rel.children {
			g.of[c] = append(g.of[c], int32(r))
		}
	}
	return g
}

// givesAway reports whether, with the cells as they are, a relation of
// cell i has one hidden cell left, other than the total under another
// name: the relation determines it, so the exact audit would find it
// disclosed. It is the audit's cheapest case, checked without it.
func (g *relationIndex) givesAway(cells []ur.Cell, l *layout, i int) bool {
	for _, r := range g.of[i] {
		rel := &g.rels[r]
		hidden, last := 0, -1
		if cells[rel.parent].Suppression.Hidden() {
			hidden, last = 1, int(rel.parent)
		}
		for _, c := range rel.children {
			if cells[c].Suppression.Hidden() {
				hidden++
				last = int(c)
				if hidden > 1 {
					break
				}
			}
		}
		if hidden == 1 && !l.fixed(cells, last) {
			return true
		}
	}
	return false
}
