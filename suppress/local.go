package suppress

import (
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
func LocalIntervals(cells []ur.Cell, want func(i int, m ur.Measure) bool) ([]Interval, error) {
	return newLayout(cells).localIntervals(cells, want, nil, false)
}

// localIntervals computes LocalIntervals, or with cfg non-nil, Widen's
// shortcut version of them (see intervalProblem.intervals): the wanted
// cells in programs of up to localUnknowns unknowns, and those left too
// narrow again in larger ones around their own cost centre; with
// wideOnly, in the larger ones only (for cells already found narrow).
func (l *layout) localIntervals(cells []ur.Cell, want func(i int, m ur.Measure) bool, cfg *Config, wideOnly bool) ([]Interval, error) {
	hf := l.hiddenFine(cells)
	// Per block (a cost centre, or -1: the global cells), kept in dense
	// slices at b+1 rather than maps: a report may have 100,000 blocks,
	// and the sets below are asked about for every cell of every problem.
	groupsAt := make([][]int, len(l.ccs)+1) // the wanted hidden cells
	groups := func(b int32) []int { return groupsAt[b+1] }
	var keys []int32
	for i := range cells {
		if !cells[i].Suppression.Hidden() || !wantsAny(want, i) {
			continue
		}
		b := l.block[i]
		if len(groupsAt[b+1]) == 0 {
			keys = append(keys, b)
		}
		groupsAt[b+1] = append(groupsAt[b+1], i)
	}
	slices.Sort(keys)
	// Room for one interval per wanted pair at once: a report of 100,000
	// cost centres asks for millions, and a slice left to grow doubles.
	npairs := 0
	for _, b := range keys {
		for _, i := range groups(b) {
			for m := range ur.NumMeasures {
				if want == nil || want(i, m) {
					npairs++
				}
			}
		}
	}
	out := make([]Interval, 0, npairs)
	again := make(pairSet, len(cells))
	var againBlocks []int32
	inAgain := newBlockSet(l) // againBlocks as a set
	// One problem for the targets of cost centre b serves the targets of
	// the other cost centres it holds whole, too: a problem per cluster,
	// not per cost centre.
	done := newBlockSet(l)
	if wideOnly && cfg != nil {
		// Straight to the second look: every wanted pair is "again".
		againBlocks = keys
		for _, b := range keys {
			done.set(b, true)
			inAgain.set(b, true)
			for _, i := range groups(b) {
				for m := range ur.NumMeasures {
					if want == nil || want(i, m) {
						again.add(i, m)
					}
				}
			}
		}
	}
	targets := newBlockSet(l) // the current problem's, cleared after it
	for _, b := range keys {
		if done.has(b) {
			continue
		}
		blocks := l.localBlocks(hf, b, groups(b), localUnknowns)
		done.set(b, true)
		targets.set(b, true)
		for _, e := range blocks {
			if len(groups(e)) > 0 && !done.has(e) {
				done.set(e, true)
				targets.set(e, true)
			}
		}
		p, err := newIntervalProblem(cells, l, blocks)
		if err != nil {
			return nil, err
		}
		ivs, err := p.intervals(cells, func(i int, m ur.Measure) bool {
			return targets.has(l.block[i]) && (want == nil || want(i, m))
		}, cfg)
		targets.set(b, false)
		for _, e := range blocks {
			targets.set(e, false)
		}
		if err != nil {
			return nil, err
		}
		for _, iv := range ivs {
			if cfg == nil || Protected(iv, iv.Measure.Value(&cells[iv.Cell]), l.upperCap(cells, iv.Cell, iv.Measure), *cfg) {
				out = append(out, iv)
				continue
			}
			if e := l.block[iv.Cell]; !inAgain.has(e) {
				againBlocks = append(againBlocks, e)
				inAgain.set(e, true)
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
	pending := newBlockSet(l)
	for _, b := range againBlocks {
		pending.set(b, true)
	}
	var retry []int32
	inRetry := newBlockSet(l)
	retried := make(pairSet, len(cells))
	take := newBlockSet(l) // the current problem's, cleared after it
	for _, b := range againBlocks {
		if !pending.has(b) {
			continue
		}
		blocks := l.localBlocks(hf, b, groups(b), localUnknownsWide)
		take.set(b, true)
		if cfg != nil {
			for _, e := range blocks {
				if pending.has(e) {
					take.set(e, true)
				}
			}
		}
		pending.set(b, false)
		for _, e := range blocks {
			if take.has(e) {
				pending.set(e, false)
			}
		}
		p, err := newIntervalProblem(cells, l, blocks)
		if err != nil {
			return nil, err
		}
		ivs, err := p.intervals(cells, func(i int, m ur.Measure) bool { return take.has(l.block[i]) && again.has(i, m) }, cfg)
		take.set(b, false)
		for _, e := range blocks {
			take.set(e, false)
		}
		if err != nil {
			return nil, err
		}
		for _, iv := range ivs {
			e := l.block[iv.Cell]
			if e == b || (cfg != nil && Protected(iv, iv.Measure.Value(&cells[iv.Cell]), l.upperCap(cells, iv.Cell, iv.Measure), *cfg)) {
				out = append(out, iv)
				continue
			}
			if !inRetry.has(e) {
				retry = append(retry, e)
				inRetry.set(e, true)
			}
			retried.add(iv.Cell, iv.Measure)
		}
	}
	slices.Sort(retry)
	for _, b := range retry {
		p, err := newIntervalProblem(cells, l, l.localBlocks(hf, b, groups(b), localUnknownsWide))
		if err != nil {
			return nil, err
		}
		ivs, err := p.intervals(cells, func(i int, m ur.Measure) bool { return l.block[i] == b && retried.has(i, m) }, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, ivs...)
	}
	return out, nil
}

// blockSet is a set of blocks (cost centres, and -1 for the global
// cells), dense: one bool per block.
type blockSet []bool

func newBlockSet(l *layout) blockSet { return make(blockSet, len(l.ccs)+1) }

func (s blockSet) has(b int32) bool    { return s[b+1] }
func (s blockSet) set(b int32, v bool) { s[b+1] = v }

// localIntervalOf computes one local interval.
func (l *layout) localIntervalOf(cells []ur.Cell, h int, m ur.Measure) (Interval, error) {
	return l.intervalOf(cells, h, m, l.localBlocks(l.hiddenFine(cells), l.block[h], []int{h}, localUnknowns))
}

// intervalOf computes one interval in the problem over blocks (nil: the
// whole report).
func (l *layout) intervalOf(cells []ur.Cell, h int, m ur.Measure, blocks []int32) (Interval, error) {
	p, err := newIntervalProblem(cells, l, blocks)
	if err != nil {
		return Interval{}, err
	}
	ivs, err := p.solve(cells, m, func(i int, _ ur.Measure) bool { return i == h }, solveOpts{})
	if err != nil || len(ivs) != 1 {
		return Interval{}, fmt.Errorf("interval of %s: %w", CellName(&cells[h]), err)
	}
	return ivs[0], nil
}

func wantsAny(want func(i int, m ur.Measure) bool, i int) bool {
	if want == nil {
		return true
	}
	for m := range ur.NumMeasures {
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
// unknowns stay within limit. Among cost centres alike in both, those
// numbered next after b come first (cyclically): then the problems of
// consecutive cost centres take each other as partners, and one problem
// serves a cluster of them (see localIntervals). Ties broken by the
// lowest numbers instead gave every problem the same partners, already
// done, and so about a problem per cost centre: five times the problems
// (24,291 against 4,649 in the first round) for 20,000 cost centres of
// one subscriber each, most of them alike.
//
// Its cost does not grow with the number of cost centres: it works on the
// distinct position masks of hf (at most 4095, a handful in practice; see
// hfIndex), since overlap and unknowns depend on a cost centre's mask
// alone, and takes at most limit cost centres. A scan of every cost
// centre for each of them made a report with many cost centres quadratic.
func (l *layout) localBlocks(hf []uint16, b int32, targets []int, limit int) []int32 {
	x := l.hfIndexOf(hf)
	var out []int32 // also the chosen set: it stays within limit+1
	var union uint16
	n := 0
	chosen := func(e int32) bool { return slices.Contains(out, e) }
	take := func(e int32) {
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
	// what it chose. A pass offers the cost centres by overlap (most
	// first), then unknowns (fewest first), then number after b, and
	// takes each that still fits. All cost centres of one mask rank
	// alike, so the order is that of the masks' (overlap, unknowns)
	// classes, and within a class the cost centres' numbers after b,
	// merged from the masks' lists.
	type class struct {
		ov, unk  int
		masks    []int // indexes into x.masks, ascending
		start, n int   // where masks lies in the slab, and its length
	}
	var cs []class
	var order []int32 // cs's indexes in the order taken (low byte), under their sort keys
	var heads []int   // per mask of the class being taken: how far taken in its list
	var starts []int  // and where its list starts, after b
	// after numbers the cost centres from the one after b, cyclically.
	after := func(e int32) int32 {
		if e > b {
			return e - b - 1
		}
		return e - b - 1 + int32(len(hf))
	}
	// at[ov][unk] is 1 + the index in cs of the class (ov, unk), or 0:
	// a report may have thousands of distinct masks, and a search of cs
	// for each was a fifth of localBlocks.
	var at [dim + 1][dim + 1]int32
	for range 2 {
		for _, c := range cs {
			at[c.ov][c.unk] = 0
		}
		cs = cs[:0]
		// Each mask's class first, then the classes' lists of masks as
		// parts of one slab (the index's, reused): a list grown per
		// class was half of localBlocks.
		clsOf := grow(&x.clsBuf, len(x.masks))
		for k, m := range x.masks {
			clsOf[k] = -1
			ov := bits.OnesCount16(m & union)
			if ov == 0 {
				continue
			}
			unk := bits.OnesCount16(m)
			j := int(at[ov][unk]) - 1
			if j < 0 {
				cs = append(cs, class{ov: ov, unk: unk})
				j = len(cs) - 1
				at[ov][unk] = int32(len(cs))
			}
			clsOf[k] = int32(j)
			cs[j].n++
		}
		off := 0
		for j := range cs {
			cs[j].start, off = off, off+cs[j].n
		}
		slab := grow(&x.slabBuf, off)
		for j := range cs {
			cs[j].masks = slab[cs[j].start : cs[j].start : cs[j].start+cs[j].n]
		}
		for k, j := range clsOf {
			if j >= 0 {
				cs[j].masks = append(cs[j].masks, k) // within its part of the slab
			}
		}
		// The classes by overlap, largest first, then by unknowns: each
		// (ov, unk) is one class, so the order is a sort of small keys,
		// packed with the class's index (sorting the classes themselves
		// was a tenth of localBlocks). There are at most dim × (dim+1) of
		// them, fewer than 256.
		const _ = uint(255 - dim*(dim+1)) // the index fits in the low byte
		order = order[:0]
		for j, c := range cs {
			order = append(order, int32(((dim-c.ov)*(dim+1)+c.unk)<<8|j))
		}
		slices.Sort(order)
		for _, o := range order {
			c := &cs[o&0xff]
			if n+c.unk > limit {
				continue // n only grows: none of the class fits
			}
			heads, starts = heads[:0], starts[:0]
			for _, k := range c.masks {
				// Each list from the first cost centre after b.
				list := x.byMask[k]
				s, _ := slices.BinarySearch(list, b+1)
				heads, starts = append(heads, 0), append(starts, s)
			}
			for n+c.unk <= limit {
				// The cost centre nearest after b (cyclically) not yet
				// chosen among the heads of the class's lists.
				best, bestK := int32(-1), -1
				for h, k := range c.masks {
					list := x.byMask[k]
					at := func() int32 { return list[(starts[h]+heads[h])%len(list)] }
					for heads[h] < len(list) && chosen(at()) {
						heads[h]++
					}
					if heads[h] < len(list) && (best < 0 || after(at()) < after(best)) {
						best, bestK = at(), h
					}
				}
				if best < 0 {
					break
				}
				heads[bestK]++
				take(best)
			}
		}
	}
	slices.Sort(out)
	return out
}

// hfIndex groups the cost centres by the positions of their hidden finest
// cells (a hiddenFine result), for localBlocks.
type hfIndex struct {
	hf     []uint16  // the slice it indexes (identity, see hfIndexOf)
	masks  []uint16  // the distinct non-zero masks of hf, ascending
	byMask [][]int32 // per mask: its cost centres, ascending
	// localBlocks' scratch, one call at a time
	clsBuf  []int32
	slabBuf []int
}

// hfIndexOf returns the index of hf, made once per hiddenFine result: the
// layout keeps the last one, and knows it by the slice itself. hiddenFine
// makes a new slice every time and nothing writes to one afterwards, and
// the index holds on to the slice it was made from, so a slice at the same
// address with the same length is the same slice.
func (l *layout) hfIndexOf(hf []uint16) *hfIndex {
	if x := l.hfIdx; x != nil && len(x.hf) == len(hf) && (len(hf) == 0 || &x.hf[0] == &hf[0]) {
		return x
	}
	x := &hfIndex{hf: hf}
	var seen [allMask + 1]int32 // per mask: 1 + its index in masks, or 0
	for _, m := range hf {
		if m != 0 && seen[m] == 0 {
			seen[m] = -1
			x.masks = append(x.masks, m)
		}
	}
	slices.Sort(x.masks)
	x.byMask = make([][]int32, len(x.masks))
	for k, m := range x.masks {
		seen[m] = int32(k) + 1
	}
	for e, m := range hf {
		if m != 0 {
			k := seen[m] - 1
			x.byMask[k] = append(x.byMask[k], int32(e))
		}
	}
	l.hfIdx = x
	return x
}
