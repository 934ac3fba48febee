package suppress

import (
	"fmt"
	"math/bits"
	"slices"

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
	blocks  []int32         // the cost centres whose finest cells enter
	local   bool            // blocks is not every cost centre
	rest    [][dim]int64    // local: per measure, per finest position, the sum over the other cost centres
	slot    map[int32]int32 // local: cost centre -> its index in blocks (else the identity)
	at      [][dim]int32    // per index in blocks and position: 1+unknown, -1-cell index of a published finest cell, or 0
	varCell []int32         // per unknown: its cell
	cells   []int32         // local: the cells of its cost centres and the global ones, in order (eachRow)
	rows    []int           // published cells whose equations are independent
	// per row: the unknowns it sums, and the published finest cells
	rowVars, rowFixed [][]int32
	// the hidden cells of the problem (eachRow order), each split the
	// same way; made by the first solve
	hidden                  []int32
	hiddenVars, hiddenFixed [][]int32
	free                    []bool // unknowns in no equation
	nvars                   int
}

// newIntervalProblem sets up the problem over the finest cells of blocks,
// or of every cost centre when blocks is nil. l is cells' layout, or nil.
func newIntervalProblem(cells []ur.Cell, l *layout, blocks []int32) (*intervalProblem, error) {
	return newIntervalProblemUpTo(cells, l, blocks, MaxIntervalUnknowns)
}

// newIntervalProblemUpTo is newIntervalProblem with its own bound on the
// unknowns.
func newIntervalProblemUpTo(cells []ur.Cell, l *layout, blocks []int32, limit int) (*intervalProblem, error) {
	if l == nil {
		l = newLayout(cells)
	}
	p := &intervalProblem{l: l}
	if blocks == nil {
		for b := range l.ccs {
			p.blocks = append(p.blocks, int32(b))
		}
	} else {
		p.blocks = blocks
		p.local = len(blocks) < len(l.ccs)
	}
	p.at = make([][dim]int32, len(p.blocks))
	const finest = ur.ByCostCentre | finestSet
	if p.local {
		// The finest cells of the other cost centres, per position: all
		// of them less the problem's own.
		p.slot = make(map[int32]int32, len(p.blocks))
		p.rest = slices.Clone(l.columnSums(cells))
	}
	for k, b := range p.blocks {
		if p.local {
			p.slot[b] = int32(k)
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
	used := make([]bool, p.nvars)
	var basis [][]uint64
	var pivots []int
	// The positions holding unknowns, per cost centre and over all: a
	// cell with none of them gives no equation.
	var anyVar uint16
	if l.varMaskBuf == nil {
		l.varMaskBuf = make(map[int32]uint16, len(p.blocks))
		l.seenVarsBuf = make(map[uint64]struct{}, 64)
	}
	varMask, seenVars := l.varMaskBuf, l.seenVarsBuf // the layout's, one problem at a time
	clear(varMask)
	clear(seenVars)
	for k, b := range p.blocks {
		for j := range dim {
			if p.at[k][j] > 0 {
				varMask[b] |= 1 << j
			}
		}
		anyVar |= varMask[b]
	}
	// The basis rows live in one slab; a candidate row is reduced in
	// scratch and copied there only when it is independent.
	slab := l.scratchBasis(p.nvars)
	scratch := make([]uint64, p.nvars)
	ints := make([]int32, 0, 256)
	var vars, fixed []int32
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
			mask = l.mask[i] & varMask[b]
		}
		key := uint64(uint32(b))<<32 | uint64(mask)
		if mask == 0 {
			return
		}
		if _, ok := seenVars[key]; ok {
			return
		}
		seenVars[key] = struct{}{}
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
		p.rowVars = append(p.rowVars, ints[n:n+len(vars):n+len(vars)])
		p.rowFixed = append(p.rowFixed, ints[n+len(vars):len(ints):len(ints)])
		for _, v := range vars {
			used[v] = true
		}
	}
	p.eachRow(func(i int) {
		if !(deferTotal && i == l.total) {
			consider(i)
		}
	})
	if deferTotal {
		consider(l.total)
	}
	p.free = make([]bool, p.nvars)
	for j := range used {
		p.free[j] = !used[j]
	}
	return p, nil
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
	if p.cells == nil {
		for _, b := range p.blocks {
			p.cells = append(p.cells, p.l.ccs[b].cells...)
		}
		p.cells = append(p.cells, p.l.global.cells...)
		slices.Sort(p.cells)
	}
	for _, i := range p.cells {
		f(int(i))
	}
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
	k, ok := p.slot[b]
	return k, ok
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
