package suppress

import (
	"math/rand/v2"
	"testing"

	ur "usagereport"
)

// basesScan is bases as it was first written: the spaces of every cost
// centre, each intersection made per cost centre.
func basesScan(l *layout, cells []ur.Cell) (known []space, g space, w []space, z space) {
	n := len(l.ccs)
	known, w = make([]space, n), make([]space, n)
	suf := make([]space, n+1)
	for c := range l.ccs {
		known[c] = l.known(cells, &l.ccs[c])
	}
	g = l.known(cells, &l.global)
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

// sameSpace reports whether a and b span the same subspace.
func sameSpace(a, b *space) bool {
	if a.n != b.n {
		return false
	}
	for i := range a.n {
		if !b.contains(a.rows[i]) {
			return false
		}
	}
	return true
}

// TestBasesAsScan compares bases, which keeps one space per class of
// alike cost centres, with the per-cost-centre computation, on random
// reports with many small cost centres (many classes of one and of many;
// and the tiny cost centres of BenchmarkTinyCostCentres, a few classes of
// many), before and after secondary suppression.
func TestBasesAsScan(t *testing.T) {
	cfg := Config{MinGroupSize: 3}
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 5))
		g := genConfig{orgs: 1, minSubs: 40, maxSubs: 500, maxCCs: 120, maxEvents: 10, dominantOdds: 20}
		recs := randomRecords(r, g)
		switch {
		case seed == 0:
			recs = twinCostCentres()
		case seed%4 == 0:
			recs = tinyCostCentreRecords(20 + int(seed)*10) // few classes of many
		}
		cells := cubeCells(t, recs)
		Primary(cells, cfg)
		Dominance(cells, cfg)
		for step := range 2 {
			if step == 1 {
				Secondary(cells)
			}
			l := newLayout(cells)
			known, gs, w, z := basesScan(l, cells)
			bs := l.bases(cells)
			if !sameSpace(&bs.g, &gs) || !sameSpace(&bs.z, &z) {
				t.Fatalf("seed %d step %d: G or Z differ", seed, step)
			}
			for c := range l.ccs {
				if !sameSpace(bs.knownOf(c), &known[c]) || !sameSpace(bs.wOf(c), &w[c]) {
					t.Fatalf("seed %d step %d, cost centre %d: L or W differ", seed, step, c)
				}
			}
		}
	}
}

// twinCostCentres returns an organisation whose cost centres a1 and a2
// have two subscribers each, all voice at home, and b six with SMS at home
// only. With k = 3 every cell of a1 and a2 is hidden, and the global voice
// at home (4 subscribers) is published: b's part of it is a known zero,
// so a1 + a2 is known, but neither alone. W of a1 must leave a2's part
// unknown: the class of a1 and a2 holds two cost centres.
func twinCostCentres() []ur.Record {
	var recs []ur.Record
	add := func(cc string, subs int, svc ur.Service, first byte) {
		for s := range subs {
			var p ur.Pseudonym
			p[0], p[1] = first+byte(s), 7
			rec := ur.Record{Org: 900_000_001, Month: testMonth, Subscriber: p, CostCentre: cc, Service: svc, Charge: 10_000}
			if svc == ur.Voice {
				rec.DurationS = 60
			}
			recs = append(recs, rec)
		}
	}
	add("a1", 2, ur.Voice, 0)
	add("a2", 2, ur.Voice, 10)
	add("b", 6, ur.SMS, 20)
	return recs
}
