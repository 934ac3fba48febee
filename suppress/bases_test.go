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
// many), before and after secondary suppression, asking for the cost
// centres' spaces in a random order.
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
			// In a random order: W is made per class when first asked
			// for, with the prefix intersections as far as it needs.
			for _, c := range r.Perm(len(l.ccs)) {
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

// determinedScan is determined as it was first written: every space of
// bases computed for the one question.
func determinedScan(l *layout, cells []ur.Cell, h int) bool {
	known, g, w, z := basesScan(l, cells)
	v := maskVec(l.mask[h])
	if b := l.block[h]; b >= 0 {
		s := known[b]
		s.addSpace(&w[b])
		return s.contains(v)
	}
	g.addSpace(&z)
	return g.contains(v)
}

// TestHideProbeAsDetermined holds unstick's hideProbe to determined
// computed afresh: on random reports with many small cost centres (and
// the tiny ones of BenchmarkTinyCostCentres), for random hidden cells h,
// global or not, and random published cells u of h's block, the global
// block and other cost centres (of h's class or not), hiding u must leave
// h determined exactly when determinedScan says so.
func TestHideProbeAsDetermined(t *testing.T) {
	cfg := Config{MinGroupSize: 3}
	var tried, det, undet int
	// per kind of h (global or not) and of u (global, h's block, another)
	var kinds [2][3]int
	for seed := range uint64(24) {
		r := rand.New(rand.NewPCG(seed, 9))
		g := genConfig{orgs: 1, minSubs: 40, maxSubs: 400, maxCCs: 60, maxEvents: 10, dominantOdds: 20}
		recs := randomRecords(r, g)
		switch {
		case seed == 0:
			recs = twinCostCentres()
		case seed%4 == 0:
			recs = tinyCostCentreRecords(20 + int(seed)*5)
		}
		cells := cubeCells(t, recs)
		Primary(cells, cfg)
		Dominance(cells, cfg)
		if seed%2 == 1 {
			Secondary(cells)
		}
		l := newLayout(cells)
		var hidden, published []int
		for i := range cells {
			if cells[i].Suppression.Hidden() {
				hidden = append(hidden, i)
			} else if i != l.total {
				published = append(published, i)
			}
		}
		if len(hidden) == 0 || len(published) == 0 {
			continue
		}
		for range 12 {
			h := hidden[r.IntN(len(hidden))]
			if r.IntN(3) == 0 {
				// A global hidden cell, when there is one.
				for _, i := range l.global.cells {
					if cells[i].Suppression.Hidden() {
						h = int(i)
						break
					}
				}
			}
			p := l.newHideProbe(cells, h)
			for range 10 {
				u := published[r.IntN(len(published))]
				if r.IntN(2) == 0 && l.block[h] >= 0 {
					// One of h's own block, when it has a published cell.
					for _, i := range l.ccs[l.block[h]].cells {
						if !cells[i].Suppression.Hidden() && r.IntN(2) == 0 {
							u = int(i)
						}
					}
				}
				cells[u].Suppression = ur.HiddenSecondary
				got, want := p.determinedWith(cells, u), determinedScan(l, cells, h)
				cells[u].Suppression = ur.Published
				if got != want {
					t.Fatalf("seed %d: %s with %s hidden: probe says determined %v, the scan %v",
						seed, CellName(&cells[h]), CellName(&cells[u]), got, want)
				}
				tried++
				hk, uk := 0, 2
				if l.block[h] < 0 {
					hk = 1
				}
				switch {
				case l.block[u] < 0:
					uk = 0
				case l.block[u] == l.block[h]:
					uk = 1
				}
				kinds[hk][uk]++
				if want {
					det++
				} else {
					undet++
				}
			}
		}
	}
	t.Logf("%d trials: %d determined, %d not; by kind of h and u %v", tried, det, undet, kinds)
	for hk, k := range kinds {
		for uk, n := range k {
			if n == 0 && !(hk == 1 && uk == 1) {
				t.Errorf("no trial of kind h %d, u %d", hk, uk)
			}
		}
	}
	if det == 0 || undet == 0 {
		t.Fatalf("the trials must include both answers: %d determined, %d not", det, undet)
	}
}
