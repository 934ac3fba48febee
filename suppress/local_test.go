package suppress

import (
	"math"
	"math/rand/v2"
	"testing"

	ur "usagereport"
	"usagereport/aggregate"
)

// suppressedOrg draws one organisation's records and returns its cells
// after Primary, Dominance and Secondary.
func suppressedOrg(tb testing.TB, r *rand.Rand, g genConfig, cfg Config) []ur.Cell {
	tb.Helper()
	recs := randomRecords(r, g)
	b := aggregate.NewBuilder(testMonth)
	for i := range recs {
		if err := b.Add(&recs[i]); err != nil {
			tb.Fatal(err)
		}
	}
	cells, err := unsuppressed(b, recs[0].Org)
	if err != nil {
		tb.Fatal(err)
	}
	Primary(cells, cfg)
	Dominance(cells, cfg)
	Secondary(cells)
	return cells
}

// TestLocalIntervalsInsideExact checks the local problems against the
// whole report's on random reports with many cost centres: every local
// interval holds the value and lies inside the exact one (it comes from
// tables the published cells allow), and equals it when one local problem
// covers the whole report.
func TestLocalIntervalsInsideExact(t *testing.T) {
	var compared, narrower, reports int
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 17))
		cells := suppressedOrg(t, r, genConfig{orgs: 1, minSubs: 60, maxSubs: 160, maxCCs: 40, maxEvents: 4, dominantOdds: 10}, Config{MinGroupSize: 5})
		unknowns := hiddenFinest(cells)
		exact, err := Intervals(cells, nil)
		if err != nil {
			t.Fatalf("seed %d: %d unknowns: %v", seed, unknowns, err)
		}
		local, err := LocalIntervals(cells, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(local) != len(exact) {
			t.Fatalf("seed %d: %d local intervals, %d exact", seed, len(local), len(exact))
		}
		type key struct {
			cell int
			m    ur.Measure
		}
		want := map[key]Interval{}
		for _, iv := range exact {
			want[key{iv.Cell, iv.Measure}] = iv
		}
		reports++
		for _, iv := range local {
			ex, ok := want[key{iv.Cell, iv.Measure}]
			if !ok {
				t.Fatalf("seed %d: local interval of %s %s has no exact one", seed, CellName(&cells[iv.Cell]), iv.Measure)
			}
			v := float64(iv.Measure.Value(&cells[iv.Cell]))
			tol := 1e-6 * math.Max(1, math.Abs(v))
			if v < iv.Lo-tol || v > iv.Hi+tol {
				t.Errorf("seed %d %s %s: value %v outside local [%v, %v]", seed, CellName(&cells[iv.Cell]), iv.Measure, v, iv.Lo, iv.Hi)
			}
			if iv.Lo < ex.Lo-tol || iv.Hi > ex.Hi+tol {
				t.Errorf("seed %d %s %s: local [%v, %v] not inside exact [%v, %v]", seed, CellName(&cells[iv.Cell]), iv.Measure, iv.Lo, iv.Hi, ex.Lo, ex.Hi)
			}
			if unknowns <= localUnknowns && (math.Abs(iv.Lo-ex.Lo) > tol || math.Abs(iv.Hi-ex.Hi) > tol) {
				t.Errorf("seed %d %s %s: one problem covers the report, yet local [%v, %v] != exact [%v, %v]", seed, CellName(&cells[iv.Cell]), iv.Measure, iv.Lo, iv.Hi, ex.Lo, ex.Hi)
			}
			if iv.Lo > ex.Lo+tol || iv.Hi < ex.Hi-tol {
				narrower++
			}
			compared++
		}
	}
	t.Logf("%d reports, %d intervals compared, %d local ones narrower than exact", reports, compared, narrower)
	if compared == 0 || narrower == 0 {
		t.Fatalf("the reports did not exercise local problems: %d compared, %d narrower", compared, narrower)
	}
}

// TestWidenLargeReports checks Widen where it works with local problems
// (more than maxWidenUnknowns hidden finest cells) on reports still small
// enough for the exact intervals: every sensitive range is wide enough by
// the exact linear programs, except where the cell is most of the
// organisation's published total, and the pattern passes the audit.
func TestWidenLargeReports(t *testing.T) {
	var large, checked int
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 23))
		cfg := Config{MinGroupSize: 5}
		cells := suppressedOrg(t, r, genConfig{orgs: 1, minSubs: 80, maxSubs: 160, maxCCs: 30, maxEvents: 4, dominantOdds: 10}, cfg)
		if hiddenFinest(cells) <= maxWidenUnknowns {
			continue
		}
		large++
		narrow, err := Widen(cells, cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if res := Audit(cells); len(res.Disclosed) > 0 {
			t.Fatalf("seed %d: %d cells disclosed after Widen", seed, res.Disclosed)
		}
		ivs, err := Intervals(cells, func(i int, m ur.Measure) bool { return Sensitive(&cells[i], m, cfg) })
		if err != nil {
			t.Fatalf("seed %d: %d unknowns: %v", seed, hiddenFinest(cells), err)
		}
		tooNarrow := 0
		for _, iv := range ivs {
			c := &cells[iv.Cell]
			total := iv.Measure.Value(&cells[0])
			checked++
			if Protected(iv, iv.Measure.Value(c), total, cfg) {
				continue
			}
			tooNarrow++
			if 2*iv.Measure.Value(c) > total {
				continue // the published total says nearly what the cell holds
			}
			t.Errorf("seed %d %s %s: value %d, exact interval [%v, %v] too narrow", seed, CellName(c), iv.Measure, iv.Measure.Value(c), iv.Lo, iv.Hi)
		}
		if tooNarrow > narrow {
			t.Errorf("seed %d: Widen said %d ranges too narrow, the exact check finds %d", seed, narrow, tooNarrow)
		}
	}
	t.Logf("%d large reports, %d sensitive ranges checked exactly", large, checked)
	if large < 5 {
		t.Fatalf("only %d reports large enough for local problems", large)
	}
}
