package aggregate

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"

	ur "usagereport"
)

// localUnknowns bounds the unknowns of one local problem (see
// intervalProblem): the dense simplex solves one of this size in about a
// millisecond. An interval such a problem leaves too narrow gets a second
// look with up to localUnknownsWide unknowns before Widen hides anything
// for it.
const (
	localUnknowns     = 40
	localUnknownsWide = 60
)

// LocalIntervals is Intervals for reports of any size: the wanted cells of
// each cost centre, and the global ones, get a local problem of their own,
// over their cost centre and the cost centres most entangled with it, with
// every other hidden finest cell fixed at its value. Each interval it
// returns lies inside the reader's true one (a range it shows wide enough
// is), and is the true one for a report small enough for one problem.
func LocalIntervals(cells []ur.Cell, want func(i int, m Measure) bool) ([]Interval, error) {
	return newLayout(cells).localIntervals(cells, want, nil, false)
}

// localIntervals computes LocalIntervals, or with cfg non-nil, Widen's
// shortcut version of them (see intervalProblem.intervals): the wanted
// cells in programs of up to localUnknowns unknowns, and those left too
// narrow again in larger ones around their own cost centre; with
// wideOnly, in the larger ones only (for cells already found narrow).
func (l *layout) localIntervals(cells []ur.Cell, want func(i int, m Measure) bool, cfg *Config, wideOnly bool) ([]Interval, error) {
	hf := l.hiddenFine(cells)
	groups := map[int32][]int{}
	var keys []int32
	for i := range cells {
		if !cells[i].Suppression.Hidden() || !wantsAny(want, i) {
			continue
		}
		b := l.block[i]
		if _, ok := groups[b]; !ok {
			keys = append(keys, b)
		}
		groups[b] = append(groups[b], i)
	}
	slices.Sort(keys)
	var out []Interval
	again := make(pairSet, len(cells))
	var againBlocks []int32
	// One problem for the targets of cost centre b serves the targets of
	// the other cost centres it holds whole, too: a problem per cluster,
	// not per cost centre.
	done := map[int32]bool{}
	if wideOnly && cfg != nil {
		// Straight to the second look: every wanted pair is "again".
		againBlocks = keys
		for _, b := range keys {
			done[b] = true
			for _, i := range groups[b] {
				for m := range NumMeasures {
					if want == nil || want(i, m) {
						again.add(i, m)
					}
				}
			}
		}
	}
	for _, b := range keys {
		if done[b] {
			continue
		}
		blocks := l.localBlocks(hf, b, groups[b], localUnknowns)
		done[b] = true
		targets := map[int32]bool{b: true}
		for _, e := range blocks {
			if _, ok := groups[e]; ok && !done[e] {
				done[e], targets[e] = true, true
			}
		}
		p, err := newIntervalProblem(cells, l, blocks)
		if err != nil {
			return nil, err
		}
		ivs, err := p.intervals(cells, func(i int, m Measure) bool {
			return targets[l.block[i]] && (want == nil || want(i, m))
		}, cfg)
		if err != nil {
			return nil, err
		}
		for _, iv := range ivs {
			if cfg == nil || Protected(iv, iv.Measure.Value(&cells[iv.Cell]), l.upperCap(cells, iv.Cell, iv.Measure), *cfg) {
				out = append(out, iv)
				continue
			}
			if e := l.block[iv.Cell]; !slices.Contains(againBlocks, e) {
				againBlocks = append(againBlocks, e)
			}
			again.add(iv.Cell, iv.Measure)
		}
	}
	// The ones left too narrow, again, in a larger problem around their
	// own cost centre. For Widen, a larger problem also takes on the
	// pairs of the other cost centres it holds; a pair it leaves narrow
	// still gets its own cost centre's problem, so only the work on
	// ranges shown wide enough is shared.
	slices.Sort(againBlocks)
	pending := map[int32]bool{}
	for _, b := range againBlocks {
		pending[b] = true
	}
	var retry []int32
	retried := make(pairSet, len(cells))
	for _, b := range againBlocks {
		if !pending[b] {
			continue
		}
		blocks := l.localBlocks(hf, b, groups[b], localUnknownsWide)
		take := map[int32]bool{b: true}
		if cfg != nil {
			for _, e := range blocks {
				if pending[e] {
					take[e] = true
				}
			}
		}
		for e := range take {
			pending[e] = false
		}
		p, err := newIntervalProblem(cells, l, blocks)
		if err != nil {
			return nil, err
		}
		ivs, err := p.intervals(cells, func(i int, m Measure) bool { return take[l.block[i]] && again.has(i, m) }, cfg)
		if err != nil {
			return nil, err
		}
		for _, iv := range ivs {
			e := l.block[iv.Cell]
			if e == b || (cfg != nil && Protected(iv, iv.Measure.Value(&cells[iv.Cell]), l.upperCap(cells, iv.Cell, iv.Measure), *cfg)) {
				out = append(out, iv)
				continue
			}
			if !slices.Contains(retry, e) {
				retry = append(retry, e)
			}
			retried.add(iv.Cell, iv.Measure)
		}
	}
	slices.Sort(retry)
	for _, b := range retry {
		p, err := newIntervalProblem(cells, l, l.localBlocks(hf, b, groups[b], localUnknownsWide))
		if err != nil {
			return nil, err
		}
		ivs, err := p.intervals(cells, func(i int, m Measure) bool { return l.block[i] == b && retried.has(i, m) }, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, ivs...)
	}
	return out, nil
}

// localIntervalOf computes one local interval.
func (l *layout) localIntervalOf(cells []ur.Cell, h int, m Measure) (Interval, error) {
	return l.intervalOf(cells, h, m, l.localBlocks(l.hiddenFine(cells), l.block[h], []int{h}, localUnknowns))
}

// intervalOf computes one interval in the problem over blocks (nil: the
// whole report).
func (l *layout) intervalOf(cells []ur.Cell, h int, m Measure, blocks []int32) (Interval, error) {
	p, err := newIntervalProblem(cells, l, blocks)
	if err != nil {
		return Interval{}, err
	}
	ivs, err := p.solve(cells, m, func(i int, _ Measure) bool { return i == h }, solveOpts{})
	if err != nil || len(ivs) != 1 {
		return Interval{}, fmt.Errorf("interval of %s: %w", CellName(&cells[h]), err)
	}
	return ivs[0], nil
}

func wantsAny(want func(i int, m Measure) bool, i int) bool {
	if want == nil {
		return true
	}
	for m := range NumMeasures {
		if want(i, m) {
			return true
		}
	}
	return false
}

// hiddenFine returns, per cost centre, the positions of its hidden finest
// cells.
func (l *layout) hiddenFine(cells []ur.Cell) []uint16 {
	hf := make([]uint16, len(l.ccs))
	for _, i := range l.fine {
		if cells[i].Suppression.Hidden() {
			hf[l.block[i]] |= l.mask[i]
		}
	}
	return hf
}

// localBlocks chooses the cost centres of the local problem for the
// targets of block b (-1: global cells). A reader's change to a finest
// cell of one cost centre must be made good at the same position in
// another (unless the global cells there are hidden too), so after the
// targets' own cost centres come those whose hidden finest cells share
// most positions with the ones chosen, fewest unknowns first, while the
// unknowns stay within limit.
func (l *layout) localBlocks(hf []uint16, b int32, targets []int, limit int) []int32 {
	chosen := make([]bool, len(hf))
	var out []int32
	var union uint16
	n := 0
	take := func(e int32) {
		chosen[e] = true
		out = append(out, e)
		union |= hf[e]
		n += bits.OnesCount16(hf[e])
	}
	if b >= 0 {
		take(b)
	} else {
		var want uint16
		for _, i := range targets {
			want |= l.mask[i]
		}
		union = want
	}
	// Two passes: overlap with what the first pass starts from, then with
	// what it chose.
	for range 2 {
		type cand struct {
			e       int32
			ov, unk int
		}
		var cs []cand
		for e, m := range hf {
			if chosen[e] || m == 0 {
				continue
			}
			if ov := bits.OnesCount16(m & union); ov > 0 {
				cs = append(cs, cand{int32(e), ov, bits.OnesCount16(m)})
			}
		}
		slices.SortFunc(cs, func(x, y cand) int {
			if c := cmp.Compare(y.ov, x.ov); c != 0 {
				return c
			}
			if c := cmp.Compare(x.unk, y.unk); c != 0 {
				return c
			}
			return cmp.Compare(x.e, y.e)
		})
		for _, c := range cs {
			if n+c.unk <= limit {
				take(c.e)
			}
		}
	}
	slices.Sort(out)
	return out
}
