package suppress

import (
	"fmt"
	"strings"

	ur "usagereport"
)

// layout indexes one report's cells by the structure the linear algebra
// uses. Every cell of the cube is a sum of finest cells (cost centre x
// service x zone), and a cell of a cost centre is a sum of that cost
// centre's finest cells only. So the cells fall into one block per cost
// centre plus a global block (the cells summed over all cost centres), and
// a cell is described by its block and a mask of the 12 service x zone
// combinations it sums. A finest cell with no events is absent from the
// report and is a known zero.
type layout struct {
	costs   costOrder // what Secondary and Widen take as cheapest (see costCmp)
	mask    []uint16  // per cell
	block   []int32   // per cell: cost centre block, or -1 for the global block
	ccs     []ccBlock
	global  ccBlock
	total   int          // index of the organisation total, -1 if absent
	fine    []int32      // the finest cells of the cost centres, in cell order
	cols    [][dim]int64 // columnSums, once computed
	credits int8         // credit: 0 not yet known, 1 no, 2 yes
	perPos  []int        // finest cells per position, over the cost centres (finestIn)
	// scratch of the interval problems, one at a time (see scratchBasis)
	basisBuf  []uint64
	matrixBuf []float64
	basesBuf  *blockSpaces // what bases returns
	solveBuf  solveScratch // intervalProblem.solve's
	hfIdx     *hfIndex     // localBlocks' index of the last hiddenFine result
	// rowCells' merge room
	mergeBuf  []int32
	mergeEnds []int
	// greedy's scratch, one call at a time
	greedyHidden []vec
	greedyCands  []int32
	shapes       *shapeIndex // widener's cost-centre cells by shape, once made
	// keep, when set, marks published cells that Secondary and Widen must
	// not hide (see swapCostCentres): fixed treats them as it treats the
	// organisation's total.
	keep []bool
}

// scratchBasis returns room for the exact basis of a problem with n
// unknowns: at most n rows of n. The layout's problems are set up one at
// a time, and the basis is dropped once set up.
func (l *layout) scratchBasis(n int) []uint64 {
	if cap(l.basisBuf) < n*n {
		l.basisBuf = make([]uint64, n*n)
	}
	return l.basisBuf[:n*n]
}

// scratchMatrix returns n zeros for the matrix of one measure's program,
// which newTableau copies: the layout's programs are built one at a time.
func (l *layout) scratchMatrix(n int) []float64 {
	if cap(l.matrixBuf) < n {
		l.matrixBuf = make([]float64, n)
	}
	m := l.matrixBuf[:n]
	clear(m)
	return m
}

type ccBlock struct {
	cells  []int32
	absent uint16 // finest cells with no events: known zeros
}

const allMask = 1<<dim - 1

// credit reports whether some finest cell has a negative charge.
func (l *layout) credit(cells []ur.Cell) bool {
	if l.credits == 0 {
		l.credits = 1
		for _, i := range l.fine {
			if cells[i].Charge < 0 {
				l.credits = 2
				break
			}
		}
	}
	return l.credits == 2
}

// columnSums returns, per measure and position, the sum of the finest
// cells of all cost centres. Values do not change while a layout is in
// use, so it is computed once.
func (l *layout) columnSums(cells []ur.Cell) [][dim]int64 {
	if l.cols == nil {
		l.cols = make([][dim]int64, ur.NumMeasures)
		for _, i := range l.fine {
			j := lowBit(l.mask[i])
			for m := range ur.NumMeasures {
				l.cols[m][j] += m.Value(&cells[i])
			}
		}
	}
	return l.cols
}

// cellMask returns the finest cells a cell sums.
func cellMask(c *ur.Cell) uint16 {
	var m uint16
	for s := range ur.Service(ur.NumServices) {
		if c.Set.Has(ur.ByService) && s != c.Service {
			continue
		}
		for z := range ur.Zone(ur.NumZones) {
			if c.Set.Has(ur.ByZone) && z != c.Zone {
				continue
			}
			m |= 1 << (int(s)*int(ur.NumZones) + int(z))
		}
	}
	return m
}

const finestSet = ur.ByService | ur.ByZone

func newLayout(cells []ur.Cell) *layout {
	l := &layout{
		mask:  make([]uint16, len(cells)),
		block: make([]int32, len(cells)),
		total: -1,
	}
	ids := make(map[string]int32)
	present := []uint16{}
	var globalPresent uint16
	for i := range cells {
		c := &cells[i]
		m := cellMask(c)
		l.mask[i] = m
		if !c.Set.Has(ur.ByCostCentre) {
			l.block[i] = -1
			l.global.cells = append(l.global.cells, int32(i))
			if c.Set == 0 {
				l.total = i
			}
			if c.Set == finestSet {
				globalPresent |= m
			}
			continue
		}
		id, ok := ids[c.CostCentre]
		if !ok {
			id = int32(len(l.ccs))
			ids[c.CostCentre] = id
			l.ccs = append(l.ccs, ccBlock{})
			present = append(present, 0)
		}
		l.block[i] = id
		l.ccs[id].cells = append(l.ccs[id].cells, int32(i))
		if c.Set == ur.ByCostCentre|finestSet {
			present[id] |= m
			l.fine = append(l.fine, int32(i))
		}
	}
	for id := range l.ccs {
		l.ccs[id].absent = allMask &^ present[id]
	}
	l.global.absent = allMask &^ globalPresent
	return l
}

// known returns the span of a block's published cells and known zeros.
func (l *layout) known(cells []ur.Cell, b *ccBlock) space {
	var s space
	addUnits(&s, b.absent)
	for _, i := range b.cells {
		if !cells[i].Suppression.Hidden() {
			s.addMask(l.mask[i])
		}
	}
	return s
}

func addUnits(s *space, m uint16) {
	for j := range dim {
		if m&(1<<j) != 0 {
			var v vec
			v[j] = 1
			s.addReduced(s.reduce(v))
		}
	}
}

// blockSpaces is what bases computes, from the current pattern: each cost
// centre's known span L_c, the global known span G, and what an attacker
// can add to a block from the rest of the cube: for cost centre c, W_c =
// G ∩ (∩_{c'≠c} L_c'), the combinations of global cells whose other cost
// centres' parts are all known; for the global block, Z = ∩_c L_c.
//
// Cost centres whose blocks look alike to a reader (the same known zeros
// and the same shapes of published cells) have the same L_c, and so the
// same W_c: the spaces are kept once per such class, not per cost centre.
// A space is over a kilobyte, and a large employer has 100,000 cost
// centres, most of them of a handful of classes.
//
// W is made per class when first asked for (wOf, wk): most callers need
// it for a few classes only (the hidden cells' of a check, Secondary's
// changed cost centres), and it is two or three intersections a class.
type blockSpaces struct {
	class []int32 // per cost centre: its class
	known []space // per class: L
	count []int   // per class: its cost centres
	g, z  space
	// suf[k] = ∩_{k'>=k} L_k' (suf[n] the whole space); pre[k] = ∩_{k'<k}
	// L_k', made up to npre as W needs it.
	suf, pre []space
	npre     int
	w        []space // per class: W, where wDone
	wDone    []bool
}

// knownOf returns L_c of cost centre c.
func (b *blockSpaces) knownOf(c int) *space { return &b.known[b.class[c]] }

// wOf returns W_c of cost centre c.
func (b *blockSpaces) wOf(c int) *space { return b.wk(b.class[c]) }

// wk returns W of class k: G ∩ (∩ of every other class's L), its own L
// included when it has more than one cost centre (the others of its class
// have the same L).
func (b *blockSpaces) wk(k int32) *space {
	if b.wDone[k] {
		return &b.w[k]
	}
	for ; b.npre <= int(k); b.npre++ {
		b.pre[b.npre+1] = intersect(&b.pre[b.npre], &b.known[b.npre])
	}
	o := intersect(&b.pre[k], &b.suf[k+1])
	if b.count[k] > 1 {
		o = intersect(&o, &b.known[k])
	}
	b.w[k] = intersect(&b.g, &o)
	b.wDone[k] = true
	return &b.w[k]
}

// classify sorts the cost centres into classes of alike blocks (see
// blockSpaces) under the current pattern: it sets bs.class, bs.known and
// bs.count.
func (l *layout) classify(cells []ur.Cell, bs *blockSpaces) {
	if len(bs.class) != len(l.ccs) {
		bs.class = make([]int32, len(l.ccs))
	}
	bs.known, bs.count = bs.known[:0], bs.count[:0]
	// A class is the known zeros and the set of shapes (masks) of the
	// published cells; shapes are numbered as they are met (a cost
	// centre's cells have at most 20 shapes).
	type classKey struct {
		absent uint16
		shapes uint64
	}
	var shapeNum [allMask + 1]int8
	nshapes := int8(0)
	ids := make(map[classKey]int32)
	for c := range l.ccs {
		k := classKey{absent: l.ccs[c].absent}
		for _, i := range l.ccs[c].cells {
			if cells[i].Suppression.Hidden() {
				continue
			}
			m := l.mask[i]
			if shapeNum[m] == 0 {
				nshapes++
				shapeNum[m] = nshapes
			}
			k.shapes |= 1 << (shapeNum[m] - 1)
		}
		id, ok := ids[k]
		if !ok {
			id = int32(len(bs.known))
			ids[k] = id
			bs.known = append(bs.known, l.known(cells, &l.ccs[c]))
			bs.count = append(bs.count, 0)
		}
		bs.class[c] = id
		bs.count[id]++
	}
}

// bases computes the blockSpaces of the current pattern. The result is
// the layout's own, valid until its next call.
func (l *layout) bases(cells []ur.Cell) *blockSpaces {
	bs := l.basesBuf
	if bs == nil {
		bs = &blockSpaces{}
		l.basesBuf = bs
	}
	l.classify(cells, bs)
	bs.g = l.known(cells, &l.global)
	n := len(bs.known)
	bs.suf = resize(bs.suf, n+1)
	bs.suf[n] = fullSpace()
	for k := n - 1; k >= 0; k-- {
		bs.suf[k] = intersect(&bs.suf[k+1], &bs.known[k])
	}
	bs.z = bs.suf[0]
	bs.pre = resize(bs.pre, n+1)
	bs.pre[0], bs.npre = fullSpace(), 0
	bs.w = resize(bs.w, n)
	bs.wDone = resize(bs.wDone, n)
	clear(bs.wDone)
	return bs
}

// resize returns s with length n, reusing its room.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// CellName describes a cell by its dimensions, as an error message names
// it: "cost_centre=Sales service=All roaming_zone=eu_eea".
func CellName(c *ur.Cell) string {
	var b strings.Builder
	b.WriteString("cost_centre=")
	if c.Set.Has(ur.ByCostCentre) {
		fmt.Fprintf(&b, "%q", c.CostCentreName())
	} else {
		b.WriteString("All")
	}
	b.WriteString(" service=")
	if c.Set.Has(ur.ByService) {
		b.WriteString(c.Service.String())
	} else {
		b.WriteString("All")
	}
	b.WriteString(" roaming_zone=")
	if c.Set.Has(ur.ByZone) {
		b.WriteString(c.Zone.String())
	} else {
		b.WriteString("All")
	}
	return b.String()
}
