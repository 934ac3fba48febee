package suppress

import (
	"errors"

	ur "usagereport"
)

// Suppressed is what Suppress did to one report's cells.
type Suppressed struct {
	// Narrow counts the (cell, measure) pairs still too narrow (see
	// Widen); -1 when its linear programs could not be solved.
	Narrow int
	// Fallback says whether, and why, the report got FallbackPattern
	// instead of the pattern of the search.
	Fallback FallbackReason
	// GivenBack is what was published again because a reader could work
	// it out exactly anyway.
	GivenBack GivenBack
	// Audit is the exact audit of the final pattern.
	Audit AuditResult
}

// FallbackReason is why a report got the fallback pattern.
type FallbackReason uint8

// Why the fallback pattern was used.
const (
	NoFallback     FallbackReason = iota
	FallbackAudit                 // the search left a cell the audit found determined
	FallbackRanges                // the search left ranges too narrow that the fallback protects
)

// GivenBack counts the secondary cells published again because a reader
// could work out every measure of them exactly: hiding them protected
// nothing. Charge is the sum of their |charge|.
type GivenBack struct {
	Cells  int
	Charge ur.Amount
}

// Add adds o to g, to total a run.
func (g *GivenBack) Add(o GivenBack) {
	g.Cells += o.Cells
	g.Charge += o.Charge
}

// Suppress applies every rule to one report's cells in place: Primary,
// Dominance, Secondary, Widen, then trades hidden cost-centre totals for
// cheaper cells (swapCostCentres), publishes again the secondary cells the
// pattern no longer needs (republish), gives back the secondary cells that
// protect nothing, and audits the result exactly. When the audit still
// finds a hidden cell determined, the report gets FallbackPattern, which
// is safe by construction, and the audit confirms it: Suppress never
// leaves a disclosing pattern in cells without saying so in Audit. It
// returns an error only when the cells cannot be worked on at all.
func Suppress(cells []ur.Cell, cfg Config) (Suppressed, error) {
	Primary(cells, cfg)
	if benchPrimaryOnly {
		return Suppressed{}, nil // the benchmark's baseline, never a product build
	}
	Dominance(cells, cfg)
	primary := saveSuppression(cells)
	secondaryBy(cells, cfg.costs, nil)
	res := Suppressed{}
	var err error
	// Widening is best effort on top of the exact guarantee: a report
	// whose linear programs cannot be solved keeps the exact-safe pattern.
	if res.Narrow, err = widen(cells, cfg); err != nil {
		return Suppressed{}, err
	}
	res.Audit = Audit(cells)
	if res.Narrow > 0 && len(res.Audit.Disclosed) == 0 && cfg.costs == byCharge && len(cells) <= widenFarCells {
		// Widen's effort fell short with the cells cheapest by charge:
		// the pattern of the cells with fewest subscribers (the order
		// before cost-centre totals were weighted) is taken when it
		// protects more. Only in reports up to widenFarCells cells: in
		// one of thousands of tiny cost centres it would double the work
		// for nothing.
		was := saveSuppression(cells)
		restoreSuppression(cells, primary)
		second := cfg
		second.costs = bySubscribers
		secondaryBy(cells, second.costs, nil)
		narrow, err := widen(cells, second)
		if err != nil {
			return Suppressed{}, err
		}
		if audit := Audit(cells); narrow >= 0 && narrow < res.Narrow && len(audit.Disclosed) == 0 {
			res.Narrow, res.Audit = narrow, audit
		} else {
			restoreSuppression(cells, was)
		}
	}
	if len(res.Audit.Disclosed) > 0 {
		FallbackPattern(cells)
		res.Fallback = FallbackAudit
		if res.Narrow, err = widen(cells, cfg); err != nil {
			return Suppressed{}, err
		}
		res.Audit = Audit(cells)
		return res, nil
	}
	if res.Narrow > 0 && hiddenFinest(cells) <= maxWidenUnknowns {
		// Widen's effort fell short on a small report: the fallback
		// leaves a reader the least, and is taken when it protects more.
		was := saveSuppression(cells)
		FallbackPattern(cells)
		narrow, err := widen(cells, cfg)
		if err != nil {
			return Suppressed{}, err
		}
		if narrow >= 0 && narrow < res.Narrow {
			res.Narrow, res.Fallback, res.Audit = narrow, FallbackRanges, Audit(cells)
			return res, nil
		}
		restoreSuppression(cells, was)
	}
	if res.Narrow >= 0 {
		var count pairCount
		swapCostCentres(cells, cfg, &count)
		republish(cells, cfg, &count)
	}
	res.GivenBack = giveBack(cells)
	return res, nil
}

// hiddenFinest counts the hidden finest cells: the unknowns of Widen's
// programs.
func hiddenFinest(cells []ur.Cell) int {
	n := 0
	for i := range cells {
		if cells[i].Set == ur.ByCostCentre|finestSet && cells[i].Suppression.Hidden() {
			n++
		}
	}
	return n
}

func saveSuppression(cells []ur.Cell) []ur.Suppression {
	s := make([]ur.Suppression, len(cells))
	for i := range cells {
		s[i] = cells[i].Suppression
	}
	return s
}

func restoreSuppression(cells []ur.Cell, s []ur.Suppression) {
	for i := range cells {
		cells[i].Suppression = s[i]
	}
}

// widen is Widen with the errors that leave the ranges unknown (not
// wrong) turned into -1. In a report too large for Widen's programs of the
// whole (see intervalProblem), the ranges it leaves too narrow may only
// look so in its smaller programs: up to maxRecountUnknowns hidden finest
// cells, they are counted again in one program of the whole report.
func widen(cells []ur.Cell, cfg Config) (int, error) {
	narrow, left, err := widen3(cells, cfg)
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnsolved) {
		return -1, nil
	}
	if err != nil || narrow <= 0 || left == nil {
		return narrow, err
	}
	if n := hiddenFinest(cells); n <= maxWidenUnknowns || n > maxRecountUnknowns {
		return narrow, nil
	}
	p, err := newIntervalProblemUpTo(cells, nil, nil, maxRecountUnknowns)
	if err != nil {
		return narrow, nil
	}
	ivs, err := p.intervals(cells, left.has, nil)
	if err != nil {
		return narrow, nil // the smaller programs' count stands
	}
	exact := 0
	for _, iv := range ivs {
		if !Protected(iv, iv.Measure.Value(&cells[iv.Cell]), p.l.upperCap(cells, iv.Cell, iv.Measure), cfg) {
			exact++
		}
	}
	return exact, nil
}

// maxRecountUnknowns bounds the reports whose narrow ranges widen counts
// again in one program of the whole.
const maxRecountUnknowns = 1000

// FallbackPattern hides every cell except those that must stay published:
// the organisation's total and the cells that hold all of its events (the
// total under another name). It is safe by construction: a reader who
// knows only the total and the cells equal to it can work out no cell
// that holds less than all the events, since the events can be spread
// over the hidden finest cells in more than one way. The exact audit
// confirms it all the same.
func FallbackPattern(cells []ur.Cell) {
	if len(cells) == 0 {
		return
	}
	l := newLayout(cells)
	for i := range cells {
		if !cells[i].Suppression.Hidden() && !l.fixed(cells, i) {
			cells[i].Suppression = ur.HiddenSecondary
		}
	}
}

// maxGiveBackRounds bounds giveBack's passes: publishing a cell can let
// bounds propagation pin another.
const maxGiveBackRounds = 3

// giveBack publishes the secondary cells whose every additive measure a
// reader can work out exactly from the published cells and what the
// reader knows besides (counts are never negative, a cell has at least one
// event, and charges are never negative when no finest cell has a
// credit): bounds propagation pins them to one value. Such a cell protects
// nothing: every table the reader thinks possible has that value there, so
// publishing it leaves the tables possible, and every range, as they
// were. The exact audit (which ignores inequalities) must still pass
// afterwards; if it would not, nothing is given back.
func giveBack(cells []ur.Cell) GivenBack {
	var g GivenBack
	measures := []ur.Measure{ur.Events, ur.Duration, ur.Volume}
	credit := false
	for i := range cells {
		credit = credit || cells[i].Charge < 0
	}
	if !credit {
		measures = append(measures, ur.Charge)
	}
	var given []int
	rels := relations(cells)
	n := len(cells)
	prop := newPropagation(rels, n)
	lo, hi := make([]int64, n), make([]int64, n)
	for range maxGiveBackRounds {
		exact := make([]bool, n)
		anySecondary := false
		for i := range cells {
			exact[i] = cells[i].Suppression == ur.HiddenSecondary
			anySecondary = anySecondary || exact[i]
		}
		if !anySecondary {
			break
		}
		for _, m := range measures {
			floor := int64(0)
			if m == ur.Events {
				floor = 1
			}
			prop.into(cells, m, floor, lo, hi)
			for i := range cells {
				// The true value lies in the range; a range of one value
				// is the true value.
				exact[i] = exact[i] && lo[i] == hi[i] && lo[i] == m.Value(&cells[i])
			}
		}
		more := false
		for i := range cells {
			if exact[i] {
				cells[i].Suppression = ur.Published
				given = append(given, i)
				more = true
			}
		}
		if !more {
			break
		}
	}
	if len(given) == 0 {
		return g
	}
	if len(Audit(cells).Disclosed) > 0 {
		for _, i := range given {
			cells[i].Suppression = ur.HiddenSecondary
		}
		return g
	}
	for _, i := range given {
		g.Cells++
		g.Charge += absAmount(cells[i].Charge)
	}
	return g
}
