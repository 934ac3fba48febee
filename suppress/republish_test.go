package suppress

import (
	"math/rand/v2"
	"testing"

	ur "usagereport"
)

// TestRepublish hides, in suppressed random organisations, the published
// cost-centre total of most charge as if a heuristic had: the pattern
// without it was safe and wide, so republish must publish a cell again,
// and whatever it publishes must leave the audit passing and no range
// narrower than the rule allows that was not already.
func TestRepublish(t *testing.T) {
	cfg := Config{MinGroupSize: 5}
	tried := 0
	for seed := range 2000 {
		r := rand.New(rand.NewPCG(18, uint64(seed)))
		cells, ok := smallOrgCells(t, r, ur.Org(900_000_000+seed), cfg)
		if !ok {
			continue
		}
		res, err := Suppress(cells, cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if res.Fallback != NoFallback || hiddenFinest(cells) > maxRepublishUnknowns {
			continue
		}
		l := newLayout(cells)
		best := -1
		for i := range cells {
			if cells[i].Set == ur.ByCostCentre && cells[i].Suppression == ur.Published && !l.fixed(cells, i) && cells[i].Charge != 0 &&
				(best < 0 || absAmount(cells[i].Charge) > absAmount(cells[best].Charge)) {
				best = i
			}
		}
		if best < 0 {
			continue
		}
		before, ok := narrowPairs(cells, cfg)
		if !ok {
			t.Fatalf("seed %d: ranges not solved", seed)
		}
		cells[best].Suppression = ur.HiddenSecondary
		tried++
		if n := republish(cells, cfg, new(pairCount)); n == 0 {
			t.Errorf("seed %d: %s hidden needlessly, and republish published nothing", seed, CellName(&cells[best]))
		}
		if d := Audit(cells).Disclosed; len(d) > 0 {
			t.Fatalf("seed %d: after republish %s is determined", seed, CellName(&cells[d[0]]))
		}
		if after, ok := narrowPairs(cells, cfg); !ok || after > before {
			t.Errorf("seed %d: after republish %d ranges too narrow, before %d (solved: %v)", seed, after, before, ok)
		}
	}
	t.Logf("%d organisations tried", tried)
	if tried < 40 {
		t.Errorf("only %d organisations tried: the test needs more", tried)
	}
}

// TestNarrowPairsAsFull holds narrowPairs, which stops on a pair once the
// tables seen show its range protected, to the count the full programs of
// every sensitive pair give (Intervals, then Protected), on the patterns
// Primary and Secondary leave and on those after the whole suppression,
// where narrow ranges remain only when nothing could widen them; and
// narrowPairsUpTo, cut off at each limit, to whether it is passed.
func TestNarrowPairsAsFull(t *testing.T) {
	cfg := Config{MinGroupSize: 5}
	full := func(cells []ur.Cell) (int, bool) {
		ivs, err := Intervals(cells, func(i int, m ur.Measure) bool { return Sensitive(&cells[i], m, cfg) })
		if err != nil {
			return 0, false
		}
		l := newLayout(cells)
		n := 0
		for _, iv := range ivs {
			if !Protected(iv, iv.Measure.Value(&cells[iv.Cell]), l.upperCap(cells, iv.Cell, iv.Measure), cfg) {
				n++
			}
		}
		return n, true
	}
	compared, narrow := 0, 0
	for seed := range 300 {
		cells, ok := primaryCells(t, 21, seed, cfg)
		if !ok {
			continue
		}
		Secondary(cells)
		for stage, check := range []func(){nil, func() { Suppress(cells, cfg) }} {
			if check != nil {
				check()
			}
			if hiddenFinest(cells) > MaxIntervalUnknowns {
				continue
			}
			want, wantOK := full(cells)
			got, gotOK := narrowPairs(cells, cfg)
			if got != want || gotOK != wantOK {
				t.Fatalf("seed %d, stage %d: narrowPairs = %d, %v; the full programs give %d, %v", seed, stage, got, gotOK, want, wantOK)
			}
			// Cut off at every count up to it, working first on the
			// pairs of one cost centre or another: more than the limit
			// exactly when the full count is.
			for limit := range want + 2 {
				for _, near := range []int{-1, 0, len(cells) - 1} {
					got, gotOK := narrowPairsUpTo(cells, nil, cfg, limit, near)
					if gotOK != wantOK || (got > limit) != (want > limit) || (want <= limit && got != want) {
						t.Fatalf("seed %d, stage %d: narrowPairsUpTo(limit %d, near %d) = %d, %v; the full programs give %d, %v", seed, stage, limit, near, got, gotOK, want, wantOK)
					}
				}
			}
			compared++
			if want > 0 {
				narrow++
			}
		}
	}
	if compared < 100 || narrow == 0 {
		t.Fatalf("compared %d patterns, %d with narrow pairs: too few to hold narrowPairs to the full programs", compared, narrow)
	}
	t.Logf("compared %d patterns, %d with narrow pairs", compared, narrow)
}

// TestGivesAway holds givesAway, which lets republish refuse a cell without
// the exact audit, to the audit: on random organisations after the
// suppression, each secondary cell is published in turn, and whenever
// givesAway says a relation then pins a hidden cell, the audit must find
// one disclosed. Both answers must occur, or the test proves nothing.
func TestGivesAway(t *testing.T) {
	cfg := Config{MinGroupSize: 5}
	yes, no := 0, 0
	for seed := range 200 {
		cells, ok := primaryCells(t, 184, seed, cfg)
		if !ok {
			continue
		}
		Secondary(cells)
		l, g := newLayout(cells), newRelationIndex(cells)
		for i := range cells {
			if cells[i].Suppression != ur.HiddenSecondary {
				continue
			}
			cells[i].Suppression = ur.Published
			gives := g.givesAway(cells, l, i)
			disclosed := len(Audit(cells).Disclosed) > 0
			cells[i].Suppression = ur.HiddenSecondary
			if gives && !disclosed {
				t.Fatalf("seed %d: publishing %s gives a cell away by givesAway, not by the audit", seed, CellName(&cells[i]))
			}
			if gives {
				yes++
			} else {
				no++
			}
		}
	}
	t.Logf("givesAway: %d cells yes, %d no", yes, no)
	if yes < 50 || no < 50 {
		t.Errorf("givesAway: %d cells yes, %d no: the test needs more of each", yes, no)
	}
}
