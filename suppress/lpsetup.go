package suppress

import (
	"fmt"
	"math/bits"

	ur "usagereport"
)

// The linear programs of the interval check: their set-up, with exact
// rank selection of the equations (see reduceBy).

// intervalProblem is the structure shared by all measures: which finest
// cells are unknown, and which published cells constrain them.
//
// A local problem takes the finest cells of some cost centres only
// (blocks) as unknowns and fixes every other hidden finest cell at its
// true value: the true table with any solution of the local problem in
// place of those blocks is a table the published cells allow, so a local
// interval lies inside the reader's true one. What it shows wide enough
// is wide enough; what it shows narrow may be wider.
type intervalProblem struct {
	l       *layout
	blocks  []int32      // the cost centres whose finest cells enter
	local   bool         // blocks is not every cost centre
	rest    [][dim]int64 // local: per measure, per finest position, the sum over the other cost centres
	slot    *slotMap     // local: cost centre -> its index in blocks (else the identity)
	at      [][dim]int32 // per index in blocks and position: 1+unknown, -1-cell index of a published finest cell, or 0
	varCell []int32      // per unknown: its cell
	// local: the cells of its cost centres and the global ones, in order
	// (rowCells), once cellsMade
	cells     []int32
	cellsMade bool
	rows      []int // published cells whose equations are independent
	// per row: ints[s[0]:s[1]] the unknowns it sums, ints[s[1]:s[2]] the
	// published finest cells (rowVars, rowFixed)
	rowSpans [][3]int32
	ints     []int32
	// the hidden cells of the problem (eachRow order), made by the first
	// solve; each split the same way as the rows into hints when first
	// wanted (hiddenSpans[h][0] < 0: not yet)
	hidden      []int32
	hiddenMade  bool
	hiddenSpans [][3]int32
	hints       []int32
	free        []bool // unknowns in no equation
	nvars       int
}

// setupScratch is the room of a layout's interval problems (see
// newIntervalProblemUpTo): the problem itself and its set-up's scratch.
type setupScratch struct {
	prob        intervalProblem
	all         []int32 // 0, 1, ... : the blocks of a problem of every cost centre
	slots       slotMap
	seen        keySet
	used        []bool
	basis       [][]uint64
	pivots      []int
	varMask     []uint16
	scratch     []uint64
	vars, fixed []int32
}

// problem returns the layout's problem, emptied, its slices kept.
func (sc *setupScratch) problem(l *layout) *intervalProblem {
	p := &sc.prob
	*p = intervalProblem{
		l: l, rest: p.rest[:0], at: p.at[:0], varCell: p.varCell[:0], cells: p.cells[:0],
		rows: p.rows[:0], rowSpans: p.rowSpans[:0], ints: p.ints[:0],
		hidden: p.hidden[:0], hiddenSpans: p.hiddenSpans[:0], hints: p.hints[:0], free: p.free[:0],
	}
	return p
}

// allBlocks returns 0, 1, ..., n-1.
func (sc *setupScratch) allBlocks(n int) []int32 {
	if len(sc.all) != n {
		sc.all = sc.all[:0]
		for b := range n {
			sc.all = append(sc.all, int32(b))
		}
	}
	return sc.all
}

// slotMap maps cost centres to their index in a problem's blocks. It is
// dense over the layout's cost centres and emptied in constant time (an
// entry counts only when stamped with the current generation), so that a
// local problem of a few cost centres in a report of thousands costs no
// more than its own.
type slotMap struct {
	slot  []int32
	stamp []uint32
	gen   uint32
}

// reset empties m for cost centres 0 to n-1.
func (m *slotMap) reset(n int) *slotMap {
	if len(m.stamp) < n {
		m.slot, m.stamp, m.gen = make([]int32, n), make([]uint32, n), 0
	}
	m.gen++
	if m.gen == 0 {
		clear(m.stamp)
		m.gen = 1
	}
	return m
}

func (m *slotMap) set(b, k int32) { m.slot[b], m.stamp[b] = k, m.gen }

func (m *slotMap) get(b int32) (int32, bool) {
	if m.stamp[b] != m.gen {
		return -1, false
	}
	return m.slot[b], true
}

// keySet is a set of uint64 keys, open addressing, emptied in constant
// time as slotMap is (it replaced a map whose clearing and hashing were a
// tenth of the set-up).
type keySet struct {
	keys  []uint64
	stamp []uint32
	gen   uint32
	shift uint
}

// reset empties s, with room for n keys.
func (s *keySet) reset(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if len(s.keys) < size {
		s.keys, s.stamp, s.gen = make([]uint64, size), make([]uint32, size), 0
	}
	s.shift = uint(64 - bits.TrailingZeros(uint(len(s.keys))))
	s.gen++
	if s.gen == 0 {
		clear(s.stamp)
		s.gen = 1
	}
}

// insert adds k and reports whether it was new.
func (s *keySet) insert(k uint64) bool {
	mask := len(s.keys) - 1
	for h := int((k * 0x9e3779b97f4a7c15) >> s.shift); ; h = (h + 1) & mask {
		if s.stamp[h] != s.gen {
			s.keys[h], s.stamp[h] = k, s.gen
			return true
		}
		if s.keys[h] == k {
			return false
		}
	}
}

// newIntervalProblem sets up the problem over the finest cells of blocks,
// or of every cost centre when blocks is nil. l is cells' layout, or nil.
func newIntervalProblem(cells []ur.Cell, l *layout, blocks []int32) (*intervalProblem, error) {
	return newIntervalProblemUpTo(cells, l, blocks, MaxIntervalUnknowns)
}

// newIntervalProblemUpTo is newIntervalProblem with its own bound on the
// unknowns.
//
// The problem lives in the layout's room (setupScratch), as does the
// scratch of its set-up: a layout's problems are set up and solved one at
// a time, each dropped before the next is made, and most are small, so
// that allocating them afresh was most of their set-up's cost. Nothing
// the problem's methods return points into that room.
func newIntervalProblemUpTo(cells []ur.Cell, l *layout, blocks []int32, limit int) (*intervalProblem, error) {
	if l == nil {
		l = newLayout(cells)
	}
	sc := &l.solveBuf.setup
	p := sc.problem(l)
	if blocks == nil {
		p.blocks = sc.allBlocks(len(l.ccs))
	} else {
		p.blocks = blocks
		p.local = len(blocks) < len(l.ccs)
	}
	p.at = grow(&p.at, len(p.blocks))
	clear(p.at)
	const finest = ur.ByCostCentre | finestSet
	if p.local {
		// The finest cells of the other cost centres, per position: all
		// of them less the problem's own.
		p.slot = sc.slots.reset(len(l.ccs))
		p.rest = append(p.rest[:0], l.columnSums(cells)...)
	}
	for k, b := range p.blocks {
		if p.local {
			p.slot.set(b, int32(k))
		}
		for _, i := range l.ccs[b].cells {
			if cells[i].Set != finest {
				continue
			}
			j := lowBit(l.mask[i])
			if p.local {
				for m := range ur.NumMeasures {
					p.rest[m][j] -= m.Value(&cells[i])
				}
			}
			at := &p.at[k][j]
			if cells[i].Suppression.Hidden() {
				p.nvars++
				*at = int32(p.nvars)
				p.varCell = append(p.varCell, i)
			} else {
				*at = -1 - i
			}
		}
	}
	if p.nvars > limit {
		return nil, fmt.Errorf("%d hidden finest cells: %w", p.nvars, ErrTooLarge)
	}
	// Choose independent equations, exactly, so that the simplex gets a
	// matrix of full row rank.
	used := grow(&sc.used, p.nvars)
	clear(used)
	basis, pivots := sc.basis[:0], sc.pivots[:0]
	// The positions holding unknowns, per cost centre (by its index in
	// blocks) and over all: a cell with none of them gives no equation.
	var anyVar uint16
	varMask := grow(&sc.varMask, len(p.blocks))
	for k := range p.blocks {
		var vm uint16
		for j := range dim {
			if p.at[k][j] > 0 {
				vm |= 1 << j
			}
		}
		varMask[k] = vm
		anyVar |= vm
	}
	// The cells whose unknowns were seen, by cost centre and mask.
	rowCells := p.rowCells()
	n := len(rowCells)
	if !p.local {
		n = len(l.mask)
	}
	seenVars := &sc.seen
	seenVars.reset(n)
	// The basis rows live in one slab; a candidate row is reduced in
	// scratch and copied there only when it is independent.
	slab := l.scratchBasis(p.nvars)
	scratch := grow(&sc.scratch, p.nvars)
	ints := p.ints[:0]
	vars, fixed := sc.vars[:0], sc.fixed[:0]
	// The total's equation comes last when it hides a measure: the
	// programs of that measure drop it, and the equations chosen before
	// it must then still stand for every other published cell.
	deferTotal := l.total >= 0 && cells[l.total].HiddenMeasures != 0
	consider := func(i int) {
		if cells[i].Suppression.Hidden() || cells[i].Set == finest || len(basis) == p.nvars {
			return
		}
		// A cell whose unknowns are those of an earlier one gives the
		// same equation's left side: dependent, skip it unreduced.
		b := l.block[i]
		mask := l.mask[i] & anyVar
		if b >= 0 {
			k, ok := p.slotOf(i)
			if !ok {
				return // not one of the problem's cost centres: split gives nothing
			}
			mask = l.mask[i] & varMask[k]
		}
		key := uint64(uint32(b))<<32 | uint64(mask)
		if mask == 0 {
			return
		}
		if !seenVars.insert(key) {
			return
		}
		vars, fixed = p.split(i, vars[:0], fixed[:0])
		if len(vars) == 0 {
			return
		}
		r := scratch
		clear(r)
		for _, v := range vars {
			r[v] = 1
		}
		piv := reduceBy(r, basis, pivots)
		if piv < 0 {
			return
		}
		// Echelon form is enough for reduceBy: a row has zeros at the
		// pivots of the rows before it, so reducing in order clears them.
		kept := slab[len(basis)*p.nvars : (len(basis)+1)*p.nvars]
		clear(kept)
		inv := invMod(r[piv])
		for j := piv; j < len(r); j++ {
			if r[j] != 0 {
				kept[j] = mulMod(r[j], inv)
			}
		}
		basis = append(basis, kept)
		pivots = append(pivots, piv)
		p.rows = append(p.rows, i)
		n := len(ints)
		ints = append(ints, vars...)
		ints = append(ints, fixed...)
		p.rowSpans = append(p.rowSpans, [3]int32{int32(n), int32(n + len(vars)), int32(len(ints))})
		for _, v := range vars {
			used[v] = true
		}
	}
	if p.local {
		for _, i := range rowCells {
			if !(deferTotal && int(i) == l.total) {
				consider(int(i))
			}
		}
	} else {
		for i := range l.mask {
			if !(deferTotal && i == l.total) {
				consider(i)
			}
		}
	}
	if deferTotal {
		consider(l.total)
	}
	p.ints = ints
	sc.basis, sc.pivots, sc.vars, sc.fixed = basis, pivots, vars, fixed
	p.free = grow(&p.free, p.nvars)
	for j := range used {
		p.free[j] = !used[j]
	}
	return p, nil
}

// rowVars returns the unknowns that equation r sums.
func (p *intervalProblem) rowVars(r int) []int32 {
	s := p.rowSpans[r]
	return p.ints[s[0]:s[1]]
}

// rowFixed returns the published finest cells of equation r.
func (p *intervalProblem) rowFixed(r int) []int32 {
	s := p.rowSpans[r]
	return p.ints[s[1]:s[2]]
}

// eachRow calls f for every cell the problem's equations may come from,
// in cell order: all cells, or for a local problem those of its cost
// centres and the global ones.
func (p *intervalProblem) eachRow(f func(i int)) {
	if !p.local {
		for i := range p.l.mask {
			f(i)
		}
		return
	}
	for _, i := range p.rowCells() {
		f(int(i))
	}
}

// rowCells returns, for a local problem, the cells of its cost centres
// and the global ones in cell order (eachRow's), made once.
func (p *intervalProblem) rowCells() []int32 {
	if !p.local {
		return nil
	}
	if !p.cellsMade {
		// Each block's cells are in cell order: merged, not sorted
		// (sorting them was a tenth of the local problems' set-up).
		p.cells = p.cells[:0]
		ends := p.l.mergeEnds[:0]
		for _, b := range p.blocks {
			p.cells = append(p.cells, p.l.ccs[b].cells...)
			ends = append(ends, len(p.cells))
		}
		p.cells = append(p.cells, p.l.global.cells...)
		ends = append(ends, len(p.cells))
		p.l.mergeEnds = ends
		mergeRuns(p.cells, ends, grow(&p.l.mergeBuf, len(p.cells)))
		p.cellsMade = true
	}
	return p.cells
}

// slotOf returns the index in blocks of cell i's cost centre, if it is
// one of the problem's.
func (p *intervalProblem) slotOf(i int) (int32, bool) {
	b := p.l.block[i]
	if b < 0 {
		return -1, false
	}
	if !p.local {
		return b, true
	}
	return p.slot.get(b)
}

// restOf returns the part of measure m of cell i that lies in the fixed
// cost centres (local problems, global cells).
func (p *intervalProblem) restOf(i int, m ur.Measure) int64 {
	if !p.local || p.l.block[i] >= 0 {
		return 0
	}
	var s int64
	for j := range dim {
		if p.l.mask[i]&(1<<j) != 0 {
			s += p.rest[m][j]
		}
	}
	return s
}

func lowBit(m uint16) int {
	for j := range dim {
		if m&(1<<j) != 0 {
			return j
		}
	}
	return -1
}

// split appends to vars the unknowns cell i sums and to fixed its
// published finest cells (finest cells absent from the report are zero).
func (p *intervalProblem) split(i int, vars, fixed []int32) ([]int32, []int32) {
	l := p.l
	lo, hi := int32(0), int32(len(p.blocks))
	if l.block[i] >= 0 {
		k, ok := p.slotOf(i)
		if !ok {
			return vars, fixed
		}
		lo, hi = k, k+1
	}
	for k := lo; k < hi; k++ {
		at := &p.at[k]
		for m := l.mask[i]; m != 0; m &= m - 1 {
			switch x := at[bits.TrailingZeros16(m)]; {
			case x > 0:
				vars = append(vars, x-1)
			case x < 0:
				fixed = append(fixed, -1-x)
			}
		}
	}
	return vars, fixed
}

// mergeRuns sorts s, made of ascending runs each ending at the next of
// ends (the last at len(s)), by merging neighbouring runs, in tmp's room
// (len(s)); it overwrites ends.
func mergeRuns(s []int32, ends []int, tmp []int32) {
	src, dst := s, tmp[:len(s)]
	for len(ends) > 1 {
		k, from := 0, 0
		for r := 0; r < len(ends); r += 2 {
			if r+1 == len(ends) {
				copy(dst[from:ends[r]], src[from:ends[r]])
				ends[k] = ends[r]
				k++
				break
			}
			mid, to := ends[r], ends[r+1]
			i, j, o := from, mid, from
			for i < mid && j < to {
				if src[i] <= src[j] {
					dst[o] = src[i]
					i++
				} else {
					dst[o] = src[j]
					j++
				}
				o++
			}
			o += copy(dst[o:to], src[i:mid])
			copy(dst[o:to], src[j:to])
			ends[k] = to
			k++
			from = to
		}
		ends = ends[:k]
		src, dst = dst, src
	}
	if len(s) > 0 && &src[0] != &s[0] {
		copy(s, src)
	}
}
