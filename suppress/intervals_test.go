package suppress

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	ur "usagereport"
)

// TestIntervalsByHand checks the linear programs on a table whose answer
// is known: one cost centre, voice only, 2 calls at home and 1 in the EU,
// with every cell that names a zone hidden. A reader knows the total (3)
// and that each finest cell in the report has at least one event, so each
// zone is 1 or 2: [1, 2], too narrow by the interval rule (the reader can
// rule out 3 for the domestic cell, and the range is 1 wide).
func TestIntervalsByHand(t *testing.T) {
	var recs []ur.Record
	add := func(sub byte, zone ur.Zone, n int) {
		for range n {
			r := ur.Record{Org: 1, Month: testMonth, CostCentre: "A", Service: ur.Voice, Zone: zone, DurationS: 10}
			r.Subscriber[0] = sub
			recs = append(recs, r)
		}
	}
	add(1, ur.Domestic, 2)
	add(2, ur.EUEEA, 1)
	cells := cubeCells(t, recs)
	for i := range cells {
		if cells[i].Set.Has(ur.ByZone) {
			cells[i].Suppression = ur.HiddenSmall
		}
	}
	ivs, err := Intervals(cells, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, iv := range ivs {
		c := &cells[iv.Cell]
		var wantLo, wantHi float64
		switch iv.Measure {
		case ur.Events:
			wantLo, wantHi = 1, 2
		case ur.Duration:
			wantLo, wantHi = 0, 30 // 30 s in all; a cell may hold none of it
		default:
			continue // no volume or charge at all
		}
		if math.Abs(iv.Lo-wantLo) > 1e-9 || math.Abs(iv.Hi-wantHi) > 1e-9 {
			t.Errorf("%s %s: [%v, %v], want [%v, %v]", CellName(c), iv.Measure, iv.Lo, iv.Hi, wantLo, wantHi)
		}
		if iv.Measure == ur.Events && Protected(iv, iv.Measure.Value(c), 3, Config{}) {
			t.Errorf("%s: Protected(%v) = true, want false", CellName(c), iv)
		}
	}
}

// TestIntervalsProperties checks, on random reports through the real
// path, that every primary cell's interval contains its value and is wide
// enough, and that no interval of a hidden cell is a single point.
func TestIntervalsProperties(t *testing.T) {
	checked := 0
	eachRandomReport(t, 40, 11, func(seed uint64, _ int, cfg Config, cells []ur.Cell) {
		ivs, err := Intervals(cells, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for _, iv := range ivs {
			c := &cells[iv.Cell]
			v := float64(iv.Measure.Value(c))
			if v < iv.Lo-1e-6*math.Max(1, v) || v > iv.Hi+1e-6*math.Max(1, v) {
				t.Errorf("seed %d %s %s: value %v outside [%v, %v]", seed, CellName(c), iv.Measure, v, iv.Lo, iv.Hi)
			}
			if iv.Measure == ur.Events && iv.Hi-iv.Lo < 1-1e-9 {
				t.Errorf("seed %d %s: events pinned to [%v, %v]", seed, CellName(c), iv.Lo, iv.Hi)
			}
			total := iv.Measure.Value(&cells[0])
			if Sensitive(c, iv.Measure, cfg) && !Protected(iv, iv.Measure.Value(c), total, cfg) {
				// Widen gives up only where the cell is most of the
				// organisation's (published) total: then the total
				// itself says nearly what the cell holds.
				if 2*iv.Measure.Value(c) > total {
					t.Logf("seed %d %s %s: value %v of total %d, interval [%v, %v]: narrow, accepted", seed, CellName(c), iv.Measure, v, total, iv.Lo, iv.Hi)
					continue
				}
				t.Errorf("seed %d %s %s: value %v, interval [%v, %v] too narrow", seed, CellName(c), iv.Measure, v, iv.Lo, iv.Hi)
			}
			checked++
		}
	})
	t.Logf("%d intervals checked", checked)
}

func TestProtected(t *testing.T) {
	cfg := Config{MinGroupSize: 5} // p = 15
	tests := []struct {
		name      string
		m         ur.Measure
		lo, hi    float64
		v, total  int64
		protected bool
	}{
		{"events wide", ur.Events, 0, 5, 3, 100, true},
		{"events at upper end", ur.Events, 0, 3, 3, 100, false},
		{"events width 1", ur.Events, 2, 3, 2, 100, false},
		{"events pinned by total", ur.Events, 0, 3, 2, 3, true},
		{"amount wide", ur.Volume, 0, 2000, 1000, 10000, true},
		{"amount hi short", ur.Volume, 0, 1100, 1000, 10000, false},
		{"amount lo short", ur.Volume, 900, 2000, 1000, 10000, false},
		{"amount capped by total", ur.Volume, 0, 1000, 1000, 1000, true},
		{"empty amount", ur.Charge, 0, 0, 0, 1000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv := Interval{Measure: tt.m, Lo: tt.lo, Hi: tt.hi}
			if got := Protected(iv, tt.v, tt.total, cfg); got != tt.protected {
				t.Errorf("Protected([%v, %v], %d, %d) = %v, want %v", tt.lo, tt.hi, tt.v, tt.total, got, tt.protected)
			}
		})
	}
}

// TestNarrowestIntervalMatchesIntervals checks NarrowestInterval against
// the narrowest of all of Intervals' event ranges, on random reports as a
// file holds them (hidden values gone), both with the full pattern and
// with small groups hidden only, where ranges are often narrow.
func TestNarrowestIntervalMatchesIntervals(t *testing.T) {
	narrowCases := 0
	eachRandomReport(t, 30, 17, func(seed uint64, ci int, _ Config, full []ur.Cell) {
		primaryOnly := slices.Clone(full)
		for i := range primaryOnly {
			if primaryOnly[i].Suppression == ur.HiddenSecondary {
				primaryOnly[i].Suppression = ur.Published
			}
		}
		for pi, cells := range [][]ur.Cell{full, primaryOnly} {
			for i := range cells {
				if cells[i].Suppression.Hidden() {
					cells[i].Events, cells[i].DurationS, cells[i].VolumeBytes, cells[i].Charge = 0, 0, 0, 0
				}
			}
			ivs, err := Intervals(cells, func(_ int, m ur.Measure) bool { return m == ur.Events })
			if err != nil {
				t.Fatalf("seed %d cube %d pattern %d: %v", seed, ci, pi, err)
			}
			got, ok, err := NarrowestInterval(cells, ur.Events)
			if err != nil {
				t.Fatalf("seed %d cube %d pattern %d: %v", seed, ci, pi, err)
			}
			if ok != (len(ivs) > 0) {
				t.Fatalf("seed %d cube %d pattern %d: ok %v with %d hidden", seed, ci, pi, ok, len(ivs))
			}
			if !ok {
				continue
			}
			want := math.Inf(1)
			for _, iv := range ivs {
				want = math.Min(want, iv.Hi-iv.Lo)
			}
			if w := got.Hi - got.Lo; math.Abs(w-want) > 1e-6 && !(math.IsInf(w, 1) && math.IsInf(want, 1)) {
				t.Errorf("seed %d cube %d pattern %d: narrowest %s [%v, %v], width %v; Intervals' narrowest width %v",
					seed, ci, pi, CellName(&cells[got.Cell]), got.Lo, got.Hi, w, want)
			}
			if want < 2 {
				narrowCases++
			}
		}
	})
	if narrowCases == 0 {
		t.Error("no case had a range narrower than 2: the comparison proves little")
	}
	t.Logf("%d cases with a range narrower than 2", narrowCases)
}

// eachRandomReport calls f with the cells of every report (ci: its index
// among the seed's) that the whole suppression makes of random records:
// two organisations each, small cost centres, dominant spenders, k from 3
// to 5.
func eachRandomReport(t *testing.T, seeds int, stream uint64, f func(seed uint64, ci int, cfg Config, cells []ur.Cell)) {
	t.Helper()
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, stream))
		recs := randomRecords(r, genConfig{orgs: 2, minSubs: 5, maxSubs: 40, maxCCs: 6, maxEvents: 6, dominantOdds: 8})
		cfg := Config{MinGroupSize: 3 + int(seed%3)}
		for ci, cube := range buildCubes(t, recs, cfg) {
			f(seed, ci, cfg, mustCells(t, cube))
		}
	}
}

// TestSeenMinMax checks that seenMin and seenMax, the shortcuts the
// widening of seen ranges takes, give math.Min and math.Max bit for bit,
// signed zeros, infinities and NaN included.
func TestSeenMinMax(t *testing.T) {
	vals := []float64{math.Inf(-1), -3.5, -1, math.Copysign(0, -1), 0, 1e-300, 1, 2.25, math.Inf(1), math.NaN()}
	for _, a := range vals {
		for _, b := range vals {
			if got, want := seenMin(a, b), math.Min(a, b); math.Float64bits(got) != math.Float64bits(want) {
				t.Errorf("seenMin(%v, %v) = %v, want %v", a, b, got, want)
			}
			if got, want := seenMax(a, b), math.Max(a, b); math.Float64bits(got) != math.Float64bits(want) {
				t.Errorf("seenMax(%v, %v) = %v, want %v", a, b, got, want)
			}
		}
	}
}
