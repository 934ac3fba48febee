package suppress

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	ur "usagereport"
	"usagereport/aggregate"
)

// propertyCubes is how many random organisations TestSuppressProperty
// suppresses: USAGEREPORT_PROPERTY_CUBES, or a number small enough for
// every test run. The acceptance run is 100,000:
//
//	USAGEREPORT_PROPERTY_CUBES=100000 go test -run TestSuppressProperty -timeout 2h ./aggregate/
func propertyCubes(t *testing.T) int {
	t.Helper()
	s := os.Getenv("USAGEREPORT_PROPERTY_CUBES")
	if s == "" {
		return 2000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("USAGEREPORT_PROPERTY_CUBES=%q: want a positive number", s)
	}
	return n
}

// smallOrgRecords draws one organisation shaped like the ones behind the
// audit failures of issue 15: 5 to 15 subscribers, 1 to 4 cost centres of
// which one may be (unassigned), mostly domestic use with a few roaming
// events, and now and then a credit that makes a part's charge larger
// than its whole.
func smallOrgRecords(r *rand.Rand, org ur.Org) []ur.Record {
	var recs []ur.Record
	nSubs := 5 + r.IntN(11)
	ccs := []string{"Lager", "Salg", "Drift", "Ledelse"}[:1+r.IntN(4)]
	if r.IntN(2) == 0 {
		ccs[r.IntN(len(ccs))] = "" // (unassigned)
	}
	roamOdds := 10 + r.IntN(40)    // a few roaming events
	creditOdds := 50 + r.IntN(200) // the occasional credit
	for s := range nSubs {
		var sub ur.Pseudonym
		sub[0], sub[1], sub[2] = byte(org), byte(org>>8), byte(s)
		cc := ccs[r.IntN(len(ccs))]
		// Some subscribers use one service only, as real ones do.
		only := -1
		if r.IntN(3) == 0 {
			only = r.IntN(4)
		}
		for range 1 + r.IntN(30) {
			rec := ur.Record{Org: org, Month: testMonth, Subscriber: sub, CostCentre: cc}
			x := r.IntN(20)
			if only >= 0 {
				x = []int{0, 9, 13, 15}[only]
			}
			switch {
			case x < 8:
				rec.Service = ur.Voice
				rec.DurationS = int64(1 + r.IntN(900))
				rec.Charge = ur.Amount(r.IntN(5) * 4900)
			case x < 13:
				rec.Service = ur.SMS
				rec.Charge = ur.Amount(r.IntN(2) * 990)
			case x < 14:
				rec.Service = ur.MMS
				rec.Charge = 12785
			default:
				rec.Service = ur.Data
				rec.VolumeBytes = int64(r.IntN(20_000_000))
			}
			if r.IntN(roamOdds) == 0 {
				rec.Zone = ur.Zone(1 + r.IntN(2))
				rec.Charge += ur.Amount(r.IntN(40_000))
			}
			if r.IntN(creditOdds) == 0 {
				rec.Charge = -ur.Amount(1 + r.IntN(5_000_000))
			}
			recs = append(recs, rec)
		}
	}
	return recs
}

// TestSuppressProperty suppresses many random small organisations and
// asks of each: the search finds a pattern the exact audit passes, with
// no fallback, and no sensitive range a reader can narrow below its
// protection (by the linear programs of Intervals, independent of the
// shortcuts Widen takes).
func TestSuppressProperty(t *testing.T) {
	n := propertyCubes(t)
	cfg := Config{MinGroupSize: 5}
	var fallbacks, rangeFallbacks, narrow, atTotal, given, hidden, total int
	for seed := range n {
		r := rand.New(rand.NewPCG(15, uint64(seed)))
		cells, ok := smallOrgCells(t, r, ur.Org(900_000_000+seed), cfg)
		if !ok {
			continue
		}
		res, err := Suppress(cells, cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if len(res.Audit.Disclosed) > 0 {
			t.Fatalf("seed %d: audit failed even after the fallback: %s", seed, CellName(&cells[res.Audit.Disclosed[0]]))
		}
		switch res.Fallback {
		case FallbackAudit:
			fallbacks++
			t.Errorf("seed %d: the search failed the audit and fell back", seed)
			continue
		case FallbackRanges:
			rangeFallbacks++
		}
		given += res.GivenBack.Cells
		for i := range cells {
			if cells[i].Suppression.Hidden() {
				hidden++
			}
		}
		total += len(cells)
		ivs, err := Intervals(cells, func(i int, m ur.Measure) bool { return Sensitive(&cells[i], m, cfg) })
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		l := newLayout(cells)
		for _, iv := range ivs {
			v := iv.Measure.Value(&cells[iv.Cell])
			if !Protected(iv, v, l.upperCap(cells, iv.Cell, iv.Measure), cfg) {
				narrow++
				if v == iv.Measure.Value(&cells[0]) {
					atTotal++
				}
				if narrow <= 10 {
					t.Errorf("seed %d: %s %s = %d narrowed to [%v, %v]", seed, CellName(&cells[iv.Cell]), iv.Measure, v, iv.Lo, iv.Hi)
				}
			}
		}
	}
	t.Logf("%d cubes: %d fallbacks for the audit, %d for ranges, %d ranges too narrow (%d equal to the total's), %d of %d cells hidden, %d given back", n, fallbacks, rangeFallbacks, narrow, atTotal, hidden, total, given)
	if narrow > 0 {
		t.Errorf("%d ranges too narrow", narrow)
	}
}

// smallOrgCells builds the cube of one random small organisation
// (smallOrgRecords) before suppression; ok is false when it has fewer than
// cfg's minimum group size of subscribers, so no report.
func smallOrgCells(t *testing.T, r *rand.Rand, org ur.Org, cfg Config) (cells []ur.Cell, ok bool) {
	t.Helper()
	recs := smallOrgRecords(r, org)
	b := aggregate.NewBuilder(testMonth)
	for i := range recs {
		if err := b.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if b.Subscribers(org) < cfg.MinGroupSize {
		return nil, false
	}
	cells, err := unsuppressed(b, org)
	if err != nil {
		t.Fatal(err)
	}
	return cells, true
}

// primaryCells is smallOrgCells for the seed-th organisation of random
// stream stream, with the primary rules applied: where the tests of the
// later stages start.
func primaryCells(t *testing.T, stream uint64, seed int, cfg Config) ([]ur.Cell, bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(stream, uint64(seed)))
	cells, ok := smallOrgCells(t, r, ur.Org(900_000_000+seed), cfg)
	if ok {
		Primary(cells, cfg)
		Dominance(cells, cfg)
	}
	return cells, ok
}
