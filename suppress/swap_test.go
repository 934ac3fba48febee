package suppress

import (
	"errors"
	"slices"
	"testing"

	ur "usagereport"
)

// TestSwapCostCentres runs, on random small organisations, every rule up to
// Widen and then swapCostCentres: whatever it trades must leave the audit
// passing, no more ranges too narrow, every primary cell hidden, and a
// pattern that costs less (a swap that counts must publish a cost-centre
// total). Some organisations must get a trade, or the test proves nothing.
func TestSwapCostCentres(t *testing.T) {
	cfg := Config{MinGroupSize: 5}
	tried, swappedOrgs := 0, 0
	for seed := range 600 {
		cells, ok := primaryCells(t, 181, seed, cfg)
		if !ok {
			continue
		}
		primary := saveSuppression(cells)
		secondaryBy(cells, cfg.costs, nil)
		if n, err := widen(cells, cfg); err != nil || n < 0 || len(Audit(cells).Disclosed) > 0 {
			continue // Suppress would take the fallback pattern
		}
		before, ok := narrowPairs(cells, cfg)
		if !ok {
			t.Fatalf("seed %d: ranges not solved", seed)
		}
		cost, ccBefore := patternCost(cells), publishedCostCentreCharge(cells)
		tried++
		n := swapCostCentres(cells, cfg, new(pairCount))
		if d := Audit(cells).Disclosed; len(d) > 0 {
			t.Fatalf("seed %d: after %d swaps %s is determined", seed, n, CellName(&cells[d[0]]))
		}
		if after, ok := narrowPairs(cells, cfg); !ok || after > before {
			t.Errorf("seed %d: after %d swaps %d ranges too narrow, before %d (solved: %v)", seed, n, after, before, ok)
		}
		for i := range cells {
			if primary[i].Hidden() && cells[i].Suppression != primary[i] {
				t.Fatalf("seed %d: primary cell %s became %v", seed, CellName(&cells[i]), cells[i].Suppression)
			}
		}
		after := patternCost(cells)
		switch {
		case n == 0 && after != cost:
			t.Errorf("seed %d: no swap, yet the pattern's cost went from %d to %d", seed, cost, after)
		case n > 0 && after >= cost:
			t.Errorf("seed %d: %d swaps, and the pattern's cost went from %d to %d", seed, n, cost, after)
		case n > 0:
			swappedOrgs++
			if cc := publishedCostCentreCharge(cells); cc == ccBefore {
				t.Logf("seed %d: %d swaps left the published cost-centre charge at %d", seed, n, cc)
			}
		}
	}
	t.Logf("%d organisations tried, %d with a swap", tried, swappedOrgs)
	if tried < 100 || swappedOrgs < 5 {
		t.Errorf("%d organisations tried, %d with a swap: the test needs more", tried, swappedOrgs)
	}
}

func publishedCostCentreCharge(cells []ur.Cell) ur.Amount {
	var sum ur.Amount
	for i := range cells {
		if cells[i].Set == ur.ByCostCentre && !cells[i].Suppression.Hidden() {
			sum += absAmount(cells[i].Charge)
		}
	}
	return sum
}

// TestSecondaryKeeps checks that Secondary and Widen never hide a cell they
// are told to keep (every cost-centre total the primary rules leave
// published, on random small organisations), and that they stop: with cells
// kept, Secondary's partner cost centre must be one that can take the
// pattern, or its rounds would never end.
func TestSecondaryKeeps(t *testing.T) {
	cfg := Config{MinGroupSize: 5}
	checked := 0
	for seed := range 300 {
		cells, ok := primaryCells(t, 182, seed, cfg)
		if !ok {
			continue
		}
		keep := make([]bool, len(cells))
		for i := range cells {
			keep[i] = cells[i].Set == ur.ByCostCentre && !cells[i].Suppression.Hidden()
		}
		kept := cfg
		kept.keep = keep
		secondaryBy(cells, kept.costs, keep)
		if _, err := widen(cells, kept); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for i := range cells {
			if keep[i] && cells[i].Suppression.Hidden() {
				t.Fatalf("seed %d: kept cell %s hidden", seed, CellName(&cells[i]))
			}
		}
		checked++
	}
	if checked < 100 {
		t.Errorf("only %d organisations checked", checked)
	}
}

// TestCapsSensitive holds capsSensitive, which lets swapCostCentres and
// republish skip a cell without trying it, to what it claims: with that
// cell published and every other cell hidden that may be (the widest
// ranges any pattern can give), a sensitive pair of its block is still too
// narrow. Some cells must be found so, cost-centre totals and others, or
// the test proves nothing.
func TestCapsSensitive(t *testing.T) {
	cfg := Config{MinGroupSize: 5}
	found, totals := 0, 0
	for seed := range 600 {
		cells, ok := primaryCells(t, 183, seed, cfg)
		if !ok {
			continue
		}
		secondaryBy(cells, cfg.costs, nil)
		l := newLayout(cells)
		for c := range cells {
			if c == l.total || !capsSensitive(cells, l, c, cfg) {
				continue
			}
			was := saveSuppression(cells)
			for i := range cells {
				if i != c && !cells[i].Suppression.Hidden() && !l.fixed(cells, i) {
					cells[i].Suppression = ur.HiddenSecondary
				}
			}
			cells[c].Suppression = ur.Published
			ivs, err := Intervals(cells, func(i int, m ur.Measure) bool {
				return l.block[i] == l.block[c] && Sensitive(&cells[i], m, cfg)
			})
			if errors.Is(err, ErrTooLarge) {
				restoreSuppression(cells, was)
				continue
			}
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			narrow := 0
			for _, iv := range ivs {
				if !Protected(iv, iv.Measure.Value(&cells[iv.Cell]), l.upperCap(cells, iv.Cell, iv.Measure), cfg) {
					narrow++
				}
			}
			if narrow == 0 {
				t.Fatalf("seed %d: with %s published and all else hidden, no range of its cost centre is too narrow", seed, CellName(&cells[c]))
			}
			found++
			if cells[c].Set == ur.ByCostCentre {
				totals++
			}
			restoreSuppression(cells, was)
		}
	}
	t.Logf("%d cells found to cap a sensitive range, %d of them cost-centre totals", found, totals)
	if totals < 20 || found-totals < 20 {
		t.Errorf("%d cells found to cap a sensitive range, %d of them cost-centre totals: the test needs more of each", found, totals)
	}
}

// TestSecondaryWithinAsSecondary holds the swap's shortcut to Secondary:
// on random organisations, with the cost-centre totals kept as the swap
// keeps them, secondaryWithin under a budget gives up only when the
// pattern secondaryBy finishes costs at least the budget, and otherwise
// leaves that very pattern; and Widen after it costs no less (so the
// swap's trial fails either way). Budgets below, at and above the
// finished cost are tried.
func TestSecondaryWithinAsSecondary(t *testing.T) {
	cfg := Config{MinGroupSize: 5}
	var gaveUp, finished int
	for seed := range 200 {
		base, ok := primaryCells(t, 183, seed, cfg)
		if !ok {
			continue
		}
		keep := make([]bool, len(base))
		for i := range base {
			keep[i] = base[i].Set == ur.ByCostCentre && !base[i].Suppression.Hidden()
		}
		full := slices.Clone(base)
		secondaryBy(full, cfg.costs, keep)
		cost := patternCost(full)
		kept := cfg
		kept.keep = keep
		widened := slices.Clone(full)
		if _, err := widen(widened, kept); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if w := patternCost(widened); w < cost {
			t.Fatalf("seed %d: Widen lowered the pattern's cost from %d to %d", seed, cost, w)
		}
		for _, budget := range []ur.Amount{0, cost / 2, cost, cost + 1, maxAmount} {
			cells := slices.Clone(base)
			done := secondaryWithin(cells, cfg.costs, keep, budget)
			switch {
			case !done && cost < budget:
				t.Fatalf("seed %d: gave up under budget %d, the finished pattern costs %d", seed, budget, cost)
			case done && !slices.EqualFunc(cells, full, func(a, b ur.Cell) bool { return a.Suppression == b.Suppression }):
				t.Fatalf("seed %d: finished under budget %d with another pattern than secondaryBy's", seed, budget)
			case done:
				finished++
			default:
				gaveUp++
			}
		}
	}
	if gaveUp < 50 || finished < 50 {
		t.Errorf("gave up %d times, finished %d: too few of either to test the shortcut", gaveUp, finished)
	}
	t.Logf("gave up %d times, finished %d", gaveUp, finished)
}
