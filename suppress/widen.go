package suppress

import (
	"cmp"
	"math"
	"slices"

	ur "usagereport"
)

// Widen: the policy that hides more cells until every protected range is
// wide enough.

// pairSet is a set of (cell, measure) pairs: per cell, a bit per measure.
type pairSet []uint8

func (s pairSet) add(i int, m ur.Measure) { s[i] |= 1 << m }

func (s pairSet) remove(i int, m ur.Measure) { s[i] &^= 1 << m }

func (s pairSet) has(i int, m ur.Measure) bool { return s[i]&(1<<m) != 0 }

func (s pairSet) any() bool { return slices.ContainsFunc(s, func(b uint8) bool { return b != 0 }) }

// maxWidenRounds bounds Widen; each round hides at least one cell.
const maxWidenRounds = 25

// maxWidenTrials bounds the moves Widen tries for one report, each a
// linear program with the move made in place; maxWidenTrialsSmall for a
// report small enough for one program of the whole (maxWidenUnknowns),
// whose programs take microseconds.
const (
	maxWidenTrials      = 20
	maxWidenTrialsSmall = 200
)

// maxWidenUnknowns bounds the reports Widen solves one linear program of
// the whole report for; above it, it solves local ones (see
// intervalProblem).
const maxWidenUnknowns = 60

func widenEps(v float64) float64 { return 1e-6 * math.Max(1, math.Abs(v)) }

// Widen makes the intervals of the primary cells wide enough (see
// Protected): while one is not, it hides a published cell that shares an
// equation with it and holds enough of the measure to widen the range
// (the cheapest such), and runs Secondary again where a cell it hid is
// itself given away, so that the pattern stays exact-safe. It returns how many (cell, measure) pairs are still too
// narrow when it stops. A report with more than maxWidenUnknowns hidden
// finest cells is judged by local problems (LocalIntervals), whose ranges
// lie inside the reader's: what they show wide enough is, and a pair they
// leave narrow may be wider. Its effort is bounded (maxWidenRounds,
// maxWidenTrials): it is a best effort on top of the exact guarantee,
// which Audit checks.
func Widen(cells []ur.Cell, cfg Config) (narrow int, err error) {
	narrow, _, err = widen3(cells, cfg)
	return narrow, err
}

// widen3 is Widen that also returns the (cell, measure) pairs it left too
// narrow, when there are any.
func widen3(cells []ur.Cell, cfg Config) (narrow int, left pairSet, err error) {
	if len(cells) == 0 {
		return 0, nil, nil
	}
	unknowns := 0
	for i := range cells {
		if cells[i].Set == ur.ByCostCentre|finestSet && cells[i].Suppression.Hidden() {
			unknowns++
		}
	}
	// The cheap ranges first: they settle most cases, for reports of any
	// size, and leave the linear programs less to do.
	narrow = widenByBounds(cells, cfg)
	l := newLayout(cells)
	l.costs = cfg.costs
	l.keep = cfg.keep
	local := unknowns > maxWidenUnknowns
	intervals := func(cells []ur.Cell, want func(int, ur.Measure) bool, round int) ([]Interval, error) {
		if local {
			// After the first round every pending pair was found
			// narrow by the smaller programs: go straight to the larger.
			return l.localIntervals(cells, want, &cfg, round > 0)
		}
		p, err := newIntervalProblem(cells, l, nil)
		if err != nil {
			return nil, err
		}
		return p.intervals(cells, want, &cfg)
	}
	intervalOf := func(cells []ur.Cell, h int, m ur.Measure) (Interval, error) {
		if local {
			return l.localIntervalOf(cells, h, m)
		}
		return l.intervalOf(cells, h, m, nil)
	}
	w := &widener{l: l, cells: cells, trials: maxWidenTrialsSmall, intervalOf: intervalOf}
	if local {
		w.trials = maxWidenTrials
	}
	p := cfg.WithDefaults().DominanceP / 100
	// Hiding more only removes equations, so an interval never narrows:
	// what is wide enough once stays so, and later rounds look only at the
	// intervals that were not.
	pending := make(pairSet, len(cells))
	for i := range cells {
		for m := range ur.NumMeasures {
			if Sensitive(&cells[i], m, cfg) {
				pending.add(i, m)
			}
		}
	}
	for round := 0; pending.any(); round++ {
		ivs, err := intervals(cells, pending.has, round)
		if err != nil {
			return 0, nil, err
		}
		narrow = 0
		var hid []int
		touched := map[[2]int32]bool{}
		for _, iv := range ivs {
			h := iv.Cell
			v := iv.Measure.Value(&cells[h])
			if Protected(iv, v, l.upperCap(cells, h, iv.Measure), cfg) {
				pending.remove(h, iv.Measure)
				continue
			}
			narrow++
			if round == maxWidenRounds {
				continue
			}
			fv, ft := float64(v), float64(l.upperCap(cells, h, iv.Measure))
			hiWant, loWant := min(fv+1, ft), fv-1
			if iv.Measure != ur.Events {
				hiWant, loWant = min(fv*(1+p), ft), fv*(1-p)
			}
			if touched[[2]int32{l.block[h], int32(iv.Measure)}] {
				continue // one move per cost centre and measure a round: it may be enough for the others
			}
			if u, after, shown := w.move(widening{h: h, m: iv.Measure, before: iv, hiWant: hiWant, loWant: loWant}); u >= 0 {
				cells[u].Suppression = ur.HiddenSecondary
				hid = append(hid, u)
				touched[[2]int32{l.block[h], int32(iv.Measure)}] = true
				if shown && Protected(after, v, l.upperCap(cells, h, iv.Measure), cfg) {
					// The trial showed it: the range is wide enough now,
					// and hiding more keeps it so.
					pending.remove(h, iv.Measure)
					narrow--
				}
			}
		}
		if len(hid) == 0 {
			return narrow, pending, nil
		}
		// Hiding a cell leaves every other hidden cell as undetermined
		// as it was (the tables that kept it so still fit); only the
		// newly hidden ones may be given away, and only then is there
		// work for Secondary.
		if l.anyDetermined(cells, hid) {
			secondaryBy(cells, cfg.costs, cfg.keep)
		}
	}
	return 0, nil, nil
}

// widening is what Widen asks of a move for one (cell, measure) pair found
// too narrow: h's interval of m before the move, and the range wanted.
type widening struct {
	h              int
	m              ur.Measure
	before         Interval
	hiWant, loWant float64
}

// widener finds Widen's moves in one report: trials is how many moves
// it may still try (each a linear program), and intervalOf gives h's
// interval of m with the cells as they are.
type widener struct {
	l          *layout
	cells      []ur.Cell
	trials     int
	intervalOf func(cells []ur.Cell, h int, m ur.Measure) (Interval, error)
}

// move picks the published cell to hide to widen x.h's interval of
// measure x.m, or -1. First a cell whose value caps the interval: a published
// cell containing h with less than the wanted upper end, or one inside h
// with more than the wanted lower end (the cheapest). Otherwise the
// cheapest published cell sharing an equation with h (same block and
// overlapping, a global cell overlapping, or h's shape in another cost
// centre) that holds at least need of the measure, so that it can trade
// with h, found by trying.
//
// When a trial showed the move's effect, shown is true and after is h's
// interval with the move made (before Secondary, which can only widen it
// further).
func (w *widener) move(x widening) (u int, after Interval, shown bool) {
	l, cells, intervalOf, trials := w.l, w.cells, w.intervalOf, &w.trials
	h, m, before, hiWant, loWant := x.h, x.m, x.before, x.hiWant, x.loWant
	best := -1
	pick := func(i int) {
		if best < 0 || l.costCmp(&cells[i], &cells[best]) < 0 {
			best = i
		}
	}
	open := func(i int) bool {
		return i != h && !cells[i].Suppression.Hidden() && !l.fixed(cells, i)
	}
	// The related cells are h's own block's, the global ones, and h's
	// shape in the other cost centres. The first two are few; the last
	// come from the layout's shape index, cheapest first, only as far as
	// they are needed (a report may have 100,000 cost centres, and this
	// runs for every interval found too narrow). For the total's own
	// measure (hidden by the p%-rule) every cell is near: any may bound it.
	near := func(f func(i int)) {
		if h == l.total {
			for i := range cells {
				f(i)
			}
			return
		}
		if b := l.block[h]; b >= 0 {
			for _, i := range l.ccs[b].cells {
				f(int(i))
			}
		}
		for _, i := range l.global.cells {
			f(int(i))
		}
	}
	mh := l.mask[h]
	// Only h's block and the global cells can cap or lift h's range.
	near(func(i int) {
		if !open(i) {
			return
		}
		sameOrGlobal := l.block[i] == l.block[h] || l.block[i] < 0
		v := float64(m.Value(&cells[i]))
		switch {
		case sameOrGlobal && l.mask[i]&mh == mh && v < hiWant:
			pick(i) // caps the upper end
		case l.block[i] == l.block[h] && l.mask[i]&mh == l.mask[i] && v > loWant:
			pick(i) // lifts the lower end
		}
	})
	if best >= 0 {
		return best, after, shown
	}
	// Otherwise try the related cells, cheapest first, and take the first
	// whose hiding moves the bound that falls short: the equations that
	// bind an optimum are not always the obvious ones (total - domestic
	// bounds eu_eea + world).
	cheaper := func(a, b int) int {
		if c := l.costCmp(&cells[a], &cells[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	var nearCands []int
	near(func(i int) {
		if open(i) && m.Value(&cells[i]) > 0 {
			nearCands = append(nearCands, i)
		}
	})
	slices.SortFunc(nearCands, cheaper)
	shapeNext := func() int { return -1 } // the next open cell of h's shape elsewhere, or -1
	if h != l.total {
		shape := l.shapeIndexOf(cells).iter(mh)
		shapeNext = func() int {
			for {
				i := shape.peek()
				if i < 0 {
					return -1
				}
				if cells[i].Suppression.Hidden() || l.fixed(cells, i) {
					shape.drop() // for good: see shapeIndex
					continue
				}
				shape.skip()
				if i != h && l.block[i] != l.block[h] && m.Value(&cells[i]) > 0 {
					return i
				}
			}
		}
	}
	// cands are the candidates in order (costCmp, then index), made as
	// far as needed: more appends the next one, or reports the end.
	var cands []int
	ni, si := 0, -2 // si: the next shape cell, -2 before it is looked up
	more := func() bool {
		if si == -2 {
			si = shapeNext()
		}
		switch {
		case ni < len(nearCands) && (si < 0 || cheaper(nearCands[ni], si) < 0):
			cands = append(cands, nearCands[ni])
			ni++
		case si >= 0:
			cands = append(cands, si)
			si = -2
		default:
			return false
		}
		return true
	}
	try := func(u int) bool {
		*trials--
		// Hiding u alone (tried in place, then undone): Secondary may
		// hide more with it, which only widens further, so a move that
		// helps alone helps.
		was := cells[u].Suppression
		cells[u].Suppression = ur.HiddenSecondary
		iv, err := intervalOf(cells, h, m)
		cells[u].Suppression = was
		if err != nil {
			return false
		}
		if (before.Hi < hiWant && iv.Hi > before.Hi+widenEps(before.Hi)) ||
			(before.Lo > loWant && iv.Lo < before.Lo-widenEps(before.Lo)) {
			after, shown = iv, true
			return true
		}
		return false
	}
	k := 0
	for ; *trials > 0; k++ {
		if k == len(cands) && !more() {
			break
		}
		if try(cands[k]) {
			return cands[k], after, shown
		}
	}
	if *trials > 0 && k == len(cands) && len(cells) <= widenFarCells {
		// Then the cells of other cost centres: with the structural zeros
		// a reader knows, a cost centre's published cell of another shape
		// can bound h too (total - Salg domestic = Lager data + Salg data
		// world, when only data has bytes). A cell of none of the measure
		// bounds the others at zero: hiding it can lower a lower end.
		// This scans every cell, so only reports up to widenFarCells cells
		// get it: in larger ones (thousands of cost centres) it would make
		// Widen quadratic, and their ranges are bounded by h's shape.
		in := make([]bool, len(cells))
		for _, u := range cands {
			in[u] = true
		}
		var far []int
		for i := range cells {
			if !in[i] && open(i) && m.Value(&cells[i]) >= 0 {
				far = append(far, i)
			}
		}
		slices.SortFunc(far, cheaper)
		for _, u := range far {
			if *trials <= 0 {
				break
			}
			if try(u) {
				return u, after, shown
			}
		}
	}
	// No move tried helps alone (two equations bind at once, or the
	// trials ran out): hide the cheapest related cell that holds what the
	// range falls short by, else the one holding most of the measure,
	// and try again next round.
	need := max(hiWant-before.Hi, before.Lo-loWant, 1)
	best = -1
	for k := 0; ; k++ { // cheapest first
		if k == len(cands) && !more() {
			break
		}
		u := cands[k]
		if float64(m.Value(&cells[u])) >= need {
			return u, after, shown
		}
		if best < 0 || m.Value(&cells[u]) > m.Value(&cells[best]) {
			best = u
		}
	}
	return best, after, shown
}

// widenFarCells is the largest report (in cells) whose widener, when the
// related cells fail, tries every other published cell.
const widenFarCells = 4096
