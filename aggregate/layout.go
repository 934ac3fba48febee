package aggregate

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
	mask    []uint16 // per cell
	block   []int32  // per cell: cost centre block, or -1 for the global block
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
	basesBuf  []space // what bases returns: known, w, and its scratch
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
		l.cols = make([][dim]int64, NumMeasures)
		for _, i := range l.fine {
			j := lowBit(l.mask[i])
			for m := range NumMeasures {
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

// bases computes, from the current pattern, each cost centre's known span
// L_c, the global known span G, and what an attacker can add to a block
// from the rest of the cube: for cost centre c, W_c = G ∩ (∩_{c'≠c} L_c'),
// the combinations of global cells whose other cost centres' parts are all
// known; for the global block, Z = ∩_c L_c.
//
// The slices it returns are the layout's own, valid until its next call.
func (l *layout) bases(cells []ur.Cell) (known []space, g space, w []space, z space) {
	n := len(l.ccs)
	if len(l.basesBuf) != 3*n+1 {
		l.basesBuf = make([]space, 3*n+1)
	}
	known, w, suf := l.basesBuf[:n], l.basesBuf[n:2*n], l.basesBuf[2*n:]
	for c := range l.ccs {
		known[c] = l.known(cells, &l.ccs[c])
	}
	g = l.known(cells, &l.global)
	// suf[c] = ∩_{c'>=c} L_c'; pre = ∩_{c'<c} L_c' as c goes up.
	suf[n] = fullSpace()
	for c := n - 1; c >= 0; c-- {
		suf[c] = intersect(&suf[c+1], &known[c])
	}
	pre := fullSpace()
	for c := range n {
		o := intersect(&pre, &suf[c+1])
		w[c] = intersect(&g, &o)
		pre = intersect(&pre, &known[c])
	}
	return known, g, w, pre
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
