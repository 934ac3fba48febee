package suppress

import (
	"cmp"
	"math"
	"slices"

	ur "usagereport"
)

// swapCostCentres trades hidden cost-centre totals for cheaper cells: finance
// allocates costs by cost centre, and a total that Secondary or Widen hid
// because it was the nearest cell to hide can often stay published while
// finer cells carry the protection instead. For each secondary cost-centre
// total, costliest first, it publishes the total and runs Secondary and Widen
// again with every published cost-centre total kept published (layout.keep),
// so that they hide finer or global cells instead. The trade stands when the
// exact audit finds no hidden cell determined, no more (cell, measure) pairs
// are too narrow in the whole report than before (see narrowPairs), and the
// pattern costs less by costCmp's measure (patternCost: a cost-centre total's
// charge weighs costCentreWeight times); otherwise the pattern is restored.
// Like republish it needs the programs of the whole report, so only reports
// up to maxRepublishUnknowns hidden finest cells are tried, at most
// maxSwapTrials totals each. It returns how many totals it published.
// count is narrowPairs' count of the pattern as it is, taken when first
// needed and forgotten when a trade changes the pattern.
func swapCostCentres(cells []ur.Cell, cfg Config, count *pairCount) (swapped int) {
	if hiddenFinest(cells) > maxRepublishUnknowns {
		return 0
	}
	var cands []int
	for i := range cells {
		if cells[i].Set == ur.ByCostCentre && cells[i].Suppression == ur.HiddenSecondary && cells[i].Charge != 0 {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return 0
	}
	narrow, ok := count.of(cells, cfg)
	if !ok {
		return 0
	}
	defer func() {
		if swapped > 0 {
			*count = pairCount{} // a trade stood: the pattern is another
		}
	}()
	slices.SortFunc(cands, func(a, b int) int {
		if c := cmp.Compare(hideCost(&cells[b]), hideCost(&cells[a])); c != 0 {
			return c // costliest first
		}
		return cmp.Compare(a, b)
	})
	l := newLayout(cells)
	keep := make([]bool, len(cells))
	trial := cfg
	trial.keep = keep
	for k, c := range cands {
		if k == maxSwapTrials {
			break
		}
		if cells[c].Suppression != ur.HiddenSecondary {
			continue
		}
		if narrow == 0 && capsSensitive(cells, l, c, cfg) {
			// Both trades below keep c published: neither can pass.
			// (Most candidates on the second generator's data, whose
			// two failing trades were half the swap's work.)
			continue
		}
		was := saveSuppression(cells)
		before := patternCost(cells)
		cells[c].Suppression = ur.Published
		for i := range cells {
			keep[i] = cells[i].Set == ur.ByCostCentre && !cells[i].Suppression.Hidden()
		}
		if swapHolds(cells, l, trial, cfg, narrow, before) {
			swapped++
			continue
		}
		// Then with only this total kept: another, cheaper one may take
		// its place.
		restoreSuppression(cells, was)
		cells[c].Suppression = ur.Published
		clear(keep)
		keep[c] = true
		if swapHolds(cells, l, trial, cfg, narrow, before) {
			swapped++
			continue
		}
		restoreSuppression(cells, was)
	}
	return swapped
}

// swapHolds runs Secondary and Widen with trial's kept cells and reports
// whether the pattern they leave costs less than before, is exact-safe, and
// has no more than narrow ranges too narrow. The cheap tests go first:
// Widen's own count (of the whole report's programs up to maxWidenUnknowns
// hidden finest cells) and the cost. l is the cells' layout, keeping no
// cells (the audit and the count run on it).
func swapHolds(cells []ur.Cell, l *layout, trial, cfg Config, narrow int, before ur.Amount) bool {
	// Secondary and Widen only hide: a pattern that costs before or more
	// once Secondary is done (or while it works) costs that much after
	// Widen too, and fails below whatever Widen does.
	if !secondaryWithin(cells, trial.costs, trial.keep, before) || patternCost(cells) >= before {
		return false
	}
	if n, err := widen(cells, trial); err != nil || n < 0 || (n > narrow && hiddenFinest(cells) <= maxWidenUnknowns) {
		return false
	}
	if patternCost(cells) >= before || len(audit(cells, l).Disclosed) > 0 {
		return false
	}
	n, ok := narrowPairsUpTo(cells, l, cfg, narrow, -1)
	return ok && n <= narrow
}

// capsSensitive reports whether publishing cell c leaves a sensitive
// (cell, measure) pair of a cell inside it, in its block, too narrow
// whatever else is hidden. A published cell bounds every cell it sums from
// above: by its value, less an event for each of its other finest cells
// (each has at least one; amounts are at least zero). When that bound falls
// short of what Protected asks of the pair's upper end, every range the
// reader's programs give lies below it, so while c stays published the
// pair is too narrow in any pattern, and narrowPairs' count cannot stay at
// zero. The bound is exact integer arithmetic; the margin only keeps the
// programs' floating point (right-hand sides scaled by up to the total) on
// the side of trying. (A global c is checked against the global cells
// only: a weaker test, never a wrong one.)
func capsSensitive(cells []ur.Cell, l *layout, c int, cfg Config) bool {
	if l.fixed(cells, c) {
		return false // the total under another name: its measures are the total's
	}
	in := l.global.cells
	if b := l.block[c]; b >= 0 {
		in = l.ccs[b].cells
	}
	p := cfg.WithDefaults().DominanceP / 100
	finestC := l.finestIn(c)
	for _, h32 := range in {
		h := int(h32)
		if h == c || h == l.total || l.mask[h]&l.mask[c] != l.mask[h] {
			continue
		}
		for m := range ur.NumMeasures {
			if !Sensitive(&cells[h], m, cfg) || (m == ur.Charge && l.credit(cells)) {
				continue // a credit leaves charges unbounded
			}
			v := m.Value(&cells[h])
			bound := m.Value(&cells[c])
			var want float64
			if m == ur.Events {
				bound -= int64(finestC - l.finestIn(h))
				want = float64(min(v+1, l.upperCap(cells, h, m)))
			} else {
				if v == 0 {
					continue // Protected: nothing to protect
				}
				want = min(float64(v)*(1+p), float64(l.upperCap(cells, h, m)))
			}
			margin := 1e-6 * (math.Max(1, math.Abs(float64(m.Value(&cells[0])))) + math.Max(1, math.Abs(float64(v))))
			if float64(bound)+margin < want-margin {
				return true
			}
		}
	}
	return false
}

// maxSwapTrials bounds the cost-centre totals swapCostCentres tries in one
// report.
const maxSwapTrials = 4

// patternCost is what a pattern's secondary cells cost a reader, by
// hideCost (saturating).
func patternCost(cells []ur.Cell) ur.Amount {
	var sum ur.Amount
	for i := range cells {
		if cells[i].Suppression == ur.HiddenSecondary {
			c := hideCost(&cells[i])
			if sum > maxAmount-c {
				return maxAmount
			}
			sum += c
		}
	}
	return sum
}

const maxAmount = ur.Amount(1<<63 - 1)
