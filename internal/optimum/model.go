package optimum

import (
	"fmt"
	"math"
	"slices"

	ur "usagereport"
	"usagereport/suppress"
)

// Objective is what the optimum minimises.
type Objective int

const (
	// ByCells minimises the number of hidden cells.
	ByCells Objective = iota
	// ByCharge minimises the sum of |charge| over the hidden cells.
	ByCharge
	// ByCostCentre minimises the sum of |charge| over the hidden cost-centre
	// totals (a thousandth of a NOK per other cell breaks ties): its optimum
	// bounds the cost-centre totals' share any valid pattern can publish.
	ByCostCentre
)

func (o Objective) String() string {
	switch o {
	case ByCharge:
		return "charge"
	case ByCostCentre:
		return "cost-centre"
	}
	return "cells"
}

// Problem is one report's suppression problem: its cells with the primary cells
// marked, and the equations between them.
type Problem struct {
	Cells     []ur.Cell
	Primary   []int   // indexes of the primary cells
	Equations [][]int // each: a total's index, then its parts'
	Config    suppress.Config
}

// NewProblem copies a suppressed report's cells, keeps its primary cells (hidden
// by the k-rule or the p%-rule, as suppress.Primary and suppress.Dominance
// marked them), publishes the rest, and finds the equations between them.
func NewProblem(cells []ur.Cell, cfg suppress.Config) *Problem {
	cfg = cfg.WithDefaults()
	cs := make([]ur.Cell, len(cells))
	copy(cs, cells)
	for i := range cs {
		if cs[i].Suppression == ur.HiddenSecondary {
			cs[i].Suppression = ur.Published
		}
	}
	p := &Problem{Cells: cs, Config: cfg}
	for i := range cs {
		if cs[i].Suppression.Hidden() {
			p.Primary = append(p.Primary, i)
		}
	}
	p.Equations = equations(cs)
	return p
}

type cellKey struct {
	set  ur.GroupingSet
	cc   string
	svc  ur.Service
	zone ur.Zone
}

func keyOf(c *ur.Cell) cellKey {
	k := cellKey{set: c.Set}
	if c.Set.Has(ur.ByCostCentre) {
		k.cc = c.CostCentre
	}
	if c.Set.Has(ur.ByService) {
		k.svc = c.Service
	}
	if c.Set.Has(ur.ByZone) {
		k.zone = c.Zone
	}
	return k
}

// equations returns, for every cell and every dimension it sums over, the cell
// and the cells one level finer along that dimension (absent cells are zeros).
func equations(cells []ur.Cell) [][]int {
	index := make(map[cellKey]int, len(cells))
	children := make(map[cellKey][]int)
	for i := range cells {
		index[keyOf(&cells[i])] = i
	}
	dims := []ur.GroupingSet{ur.ByCostCentre, ur.ByService, ur.ByZone}
	for i := range cells {
		c := &cells[i]
		for _, d := range dims {
			if !c.Set.Has(d) {
				continue
			}
			// c is a part of the coarser cell without dimension d.
			parent := keyOf(c)
			parent.set &^= d
			switch d {
			case ur.ByCostCentre:
				parent.cc = ""
			case ur.ByService:
				parent.svc = 0
			case ur.ByZone:
				parent.zone = 0
			}
			// One equation per (parent, dimension): the key carries d in set's
			// spare bits.
			ek := parent
			ek.set |= d << 4
			if _, ok := index[parent]; ok {
				children[ek] = append(children[ek], i)
			}
		}
	}
	var eqs [][]int
	for ek, parts := range children {
		pk := ek
		pk.set &= 0x0f
		eqs = append(eqs, append([]int{index[pk]}, parts...))
	}
	// The same report gives the same LP file.
	slices.SortFunc(eqs, slices.Compare)
	return eqs
}

// requirement is one protection requirement of a primary cell: a deviation of the
// table (flow "u") must move the cell up by at least up; for events a second one
// ("d") must leave a range of at least span between them.
type requirement struct {
	cell   int
	events bool // a second deviation "d" must leave a range of span
	amount bool // a second deviation "d" must move the cell down by down
	up     float64
	span   float64
	down   float64
	lo, hi []float64 // per cell, the deviation's bounds when hidden
	name   string
}

// maxEventMove caps the events deviation of a cell: a requirement asks for at most
// 2, and a deviation that reaches it with larger moves elsewhere can be scaled down
// to one within the cap in all but contrived cases. It keeps the linear relaxation
// well scaled.
const maxEventMove = 100

// chargeMove is how far, relative to the largest move of any cell (at most 1), a
// charge deviation must move the primary cell. Charges have no bounds a reader
// knows (credits exist), so any deviation can be scaled: a charge is protected as
// soon as it is not determined, and p% of it is then reached too.
const chargeMove = 0.1

func nok(a ur.Amount) float64 { return float64(a) / 10_000 }

// requirements lists what every primary cell asks, by suppress.Sensitive.
func (p *Problem) requirements() []requirement {
	cs := p.Cells
	total := &cs[0]
	n := len(cs)
	evLo, evHi := make([]float64, n), make([]float64, n)
	chLo, chHi := make([]float64, n), make([]float64, n)
	for i := range cs {
		v := float64(cs[i].Events)
		evLo[i] = math.Max(1-v, -maxEventMove)
		evHi[i] = math.Min(float64(total.Events)-v, maxEventMove)
		chLo[i], chHi[i] = -1, 1
	}
	pct := p.Config.DominanceP / 100
	// Without a credit in the report a reader may rely on charges being
	// non-negative, and suppress.Intervals does: charge is then bounded like
	// seconds and bytes. With one, it is bounded by nothing.
	credit := false
	for i := range cs {
		credit = credit || cs[i].Charge < 0
	}
	var out []requirement
	for _, s := range p.Primary {
		c := &cs[s]
		if suppress.Sensitive(c, ur.Events, p.Config) {
			v, t := float64(c.Events), float64(total.Events)
			out = append(out, requirement{cell: s, events: true, up: math.Min(1, t-v), span: math.Min(2, t-v+1),
				lo: evLo, hi: evHi, name: fmt.Sprintf("e%d", s)})
		}
		if credit && suppress.Sensitive(c, ur.Charge, p.Config) && c.Charge != 0 {
			out = append(out, requirement{cell: s, up: chargeMove, lo: chLo, hi: chHi, name: fmt.Sprintf("c%d", s)})
		}
		amounts := []ur.Measure{ur.Duration, ur.Volume}
		if !credit {
			amounts = append(amounts, ur.Charge)
		}
		for _, m := range amounts {
			v := float64(m.Value(c))
			if v == 0 || !suppress.Sensitive(c, m, p.Config) {
				continue
			}
			// In units of p% of the cell's value: up by 1 (or to the total),
			// down by 1; never below zero, never above the total.
			unit, t := pct*v, float64(m.Value(total))
			lo, hi := make([]float64, n), make([]float64, n)
			for i := range cs {
				vi := float64(m.Value(&cs[i]))
				lo[i] = math.Max(-vi/unit, -maxEventMove)
				hi[i] = math.Min((t-vi)/unit, maxEventMove)
				if !mayHave(&cs[i], m) {
					lo[i], hi[i] = 0, 0 // a structural zero: seconds only on voice, bytes only on data
				}
			}
			out = append(out, requirement{cell: s, amount: true, up: math.Min(1, (t-v)/unit), down: 1,
				lo: lo, hi: hi, name: fmt.Sprintf("%c%d", m.String()[0], s)})
		}
	}
	return out
}

// mayHave reports whether a cell can hold any of measure m: call seconds only
// where voice is in it, data bytes only where data is.
func mayHave(c *ur.Cell, m ur.Measure) bool {
	if !c.Set.Has(ur.ByService) {
		return true
	}
	switch m {
	case ur.Duration:
		return c.Service == ur.Voice
	case ur.Volume:
		return c.Service == ur.Data
	}
	return true
}
