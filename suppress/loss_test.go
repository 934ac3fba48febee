package suppress

import (
	"math/rand/v2"
	"testing"

	ur "usagereport"
)

// hideSiblings is the crude method the README compares with: every cell
// that shares its grouping set and all but one dimension value with a
// primary cell is hidden too.
func hideSiblings(cells []ur.Cell) {
	primary := make([]bool, len(cells))
	for i := range cells {
		primary[i] = cells[i].Suppression.Hidden()
	}
	for i := range cells {
		if !primary[i] {
			continue
		}
		p := &cells[i]
		for j := range cells {
			c := &cells[j]
			if c.Set != p.Set || c.Set == 0 || c.Suppression.Hidden() {
				continue
			}
			diff := 0
			if c.Set.Has(ur.ByCostCentre) && c.CostCentre != p.CostCentre {
				diff++
			}
			if c.Set.Has(ur.ByService) && c.Service != p.Service {
				diff++
			}
			if c.Set.Has(ur.ByZone) && c.Zone != p.Zone {
				diff++
			}
			if diff == 1 {
				c.Suppression = ur.HiddenSecondary
			}
		}
	}
}

// TestLossComparison compares, on a generated month, the information loss
// and the disclosures of primary suppression alone, the crude method, and
// this package's, and logs the figures (go test -run LossComparison -v).
func TestLossComparison(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 10))
	var recs []ur.Record
	for o := range 30 {
		g := genConfig{orgs: 1, minSubs: 5, maxSubs: 20 + 600/(o+1), maxCCs: 2 + 40/(o+1), maxEvents: 25, dominantOdds: 60}
		for _, rec := range randomRecords(r, g) {
			rec.Org = ur.Org(900_000_000 + o)
			recs = append(recs, rec)
		}
	}
	cfg := Config{MinGroupSize: 5}
	type method struct {
		name      string
		loss      Loss
		disclosed int
	}
	methods := []method{{name: "primary (k) only"}, {name: "primary (k, p%)"}, {name: "crude: hide every sibling"}, {name: "Cubes: k, p%, secondary, widening"}}
	for _, cube := range buildCubes(t, recs, cfg) {
		cells := mustCells(t, cube)
		final := LossOf(cells)
		methods[3].loss.Add(final)
		methods[3].disclosed += len(Audit(cells).Disclosed)
		for i := range cells {
			cells[i].Suppression = ur.Published
		}
		Primary(cells, cfg)
		methods[0].loss.Add(LossOf(cells))
		methods[0].disclosed += len(Audit(cells).Disclosed)
		Dominance(cells, cfg)
		methods[1].loss.Add(LossOf(cells))
		methods[1].disclosed += len(Audit(cells).Disclosed)
		hideSiblings(cells)
		methods[2].loss.Add(LossOf(cells))
		methods[2].disclosed += len(Audit(cells).Disclosed)
	}
	for _, m := range methods {
		t.Logf("%-36s cells %6d hidden %6d (%5.1f%%) charge hidden %5.1f%% disclosed %d",
			m.name, m.loss.Cells, m.loss.HiddenCells, 100*m.loss.CellShare(), 100*m.loss.ChargeShare(), m.disclosed)
	}
	if methods[0].disclosed == 0 {
		t.Error("primary suppression alone disclosed nothing: the data proves little")
	}
	if methods[3].disclosed != 0 {
		t.Errorf("Cubes left %d cells disclosed", methods[3].disclosed)
	}
	if methods[3].loss.HiddenCells >= methods[2].loss.HiddenCells {
		t.Errorf("Cubes hid %d cells, the crude method %d: no better", methods[3].loss.HiddenCells, methods[2].loss.HiddenCells)
	}
}
