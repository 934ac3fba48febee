package suppress

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	ur "usagereport"
	"usagereport/aggregate"
)

// referenceAudit is the audit written the slow, obvious way: every cell an
// unknown, every "total = sum of parts" relation along every dimension an
// equation, every published cell an equation x = value; a hidden cell is
// disclosed when its unit vector is in the row space. Gaussian elimination
// over the rationals (math/big), no structure used.
func referenceAudit(cells []ur.Cell) []int {
	n := len(cells)
	type key struct {
		set  ur.GroupingSet
		cc   string
		svc  ur.Service
		zone ur.Zone
	}
	keyOf := func(c *ur.Cell) key {
		k := key{set: c.Set}
		if c.Set.Has(ur.ByCostCentre) {
			k.cc = c.CostCentre
		}
		if c.Set.Has(ur.ByService) {
			k.svc = c.Service
		}
		if c.Set.Has(ur.ByZone) {
			k.zone = c.Zone
		}
		return k
	}
	index := make(map[key]int, n)
	for i := range cells {
		index[keyOf(&cells[i])] = i
	}
	var rows [][]*big.Rat
	newRow := func() []*big.Rat {
		r := make([]*big.Rat, n)
		for j := range r {
			r[j] = new(big.Rat)
		}
		return r
	}
	for i := range cells {
		p := &cells[i]
		for _, d := range []ur.GroupingSet{ur.ByCostCentre, ur.ByService, ur.ByZone} {
			if p.Set.Has(d) {
				continue
			}
			row := newRow()
			row[i].SetInt64(1)
			for j := range cells {
				c := &cells[j]
				if c.Set != p.Set|d {
					continue
				}
				if (!p.Set.Has(ur.ByCostCentre) || c.CostCentre == p.CostCentre) &&
					(!p.Set.Has(ur.ByService) || c.Service == p.Service) &&
					(!p.Set.Has(ur.ByZone) || c.Zone == p.Zone) {
					row[j].SetInt64(-1)
				}
			}
			rows = append(rows, row)
		}
		if !p.Suppression.Hidden() {
			row := newRow()
			row[i].SetInt64(1)
			rows = append(rows, row)
		}
	}
	// Reduced row echelon form.
	var pivots []int
	r := 0
	for col := 0; col < n && r < len(rows); col++ {
		sel := -1
		for i := r; i < len(rows); i++ {
			if rows[i][col].Sign() != 0 {
				sel = i
				break
			}
		}
		if sel < 0 {
			continue
		}
		rows[r], rows[sel] = rows[sel], rows[r]
		inv := new(big.Rat).Inv(rows[r][col])
		for j := range n {
			if rows[r][j].Sign() != 0 {
				rows[r][j].Mul(rows[r][j], inv)
			}
		}
		for i := range rows {
			if i == r || rows[i][col].Sign() == 0 {
				continue
			}
			f := new(big.Rat).Set(rows[i][col])
			for j := range n {
				if rows[r][j].Sign() == 0 {
					continue
				}
				t := new(big.Rat).Mul(f, rows[r][j])
				rows[i][j].Sub(rows[i][j], t)
			}
		}
		pivots = append(pivots, col)
		r++
	}
	// In RREF, e_i is in the row space exactly when some row equals e_i.
	var out []int
	for ri, col := range pivots {
		if !cells[col].Suppression.Hidden() {
			continue
		}
		unit := true
		for j := range n {
			if j != col && rows[ri][j].Sign() != 0 {
				unit = false
				break
			}
		}
		if unit {
			out = append(out, col)
		}
	}
	slices.Sort(out)
	return out
}

// TestAuditMatchesReference compares the structured audit with the obvious
// one on random cubes with random hidden patterns, weak ones included.
func TestAuditMatchesReference(t *testing.T) {
	shapes := []genConfig{
		{orgs: 1, minSubs: 5, maxSubs: 15, maxCCs: 1, maxEvents: 5},
		{orgs: 1, minSubs: 5, maxSubs: 25, maxCCs: 3, maxEvents: 6},
		{orgs: 1, minSubs: 10, maxSubs: 40, maxCCs: 6, maxEvents: 4},
	}
	disclosures := 0
	for si, g := range shapes {
		for seed := range uint64(40) {
			t.Run(fmt.Sprintf("shape%d/seed%d", si, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, uint64(si)))
				cells := cubeCells(t, randomRecords(r, g))
				odds := 2 + r.IntN(6)
				for i := range cells {
					// A cell with all the total's events is the total
					// under another name: no pattern can hide it.
					if i > 0 && r.IntN(odds) == 0 && cells[i].Events < cells[0].Events {
						cells[i].Suppression = ur.HiddenSmall
					}
				}
				got := Audit(cells).Disclosed
				want := referenceAudit(cells)
				if !slices.Equal(got, want) {
					t.Errorf("Audit disclosed %v, reference %v", got, want)
				}
				disclosures += len(want)

				// Whatever the pattern, Secondary must leave nothing the
				// reference can work out.
				Secondary(cells)
				if cells[0].Suppression.Hidden() {
					t.Errorf("Secondary hid the organisation total")
				}
				if d := referenceAudit(cells); len(d) > 0 {
					t.Errorf("after Secondary, reference audit disclosed %v", d)
				}
			})
		}
	}
	if disclosures == 0 {
		t.Error("no case had a disclosure: the comparison proves little")
	}
}

// unsuppressed returns org's cells as b computes them, before suppression.
func unsuppressed(b *aggregate.Builder, org ur.Org) ([]ur.Cell, error) {
	rep, err := b.Report(org)
	if err != nil {
		return nil, err
	}
	return rep.Cells, nil
}

// cubeCells returns the unsuppressed cells of the first organisation.
func cubeCells(tb testing.TB, recs []ur.Record) []ur.Cell {
	tb.Helper()
	b := aggregate.NewBuilder(testMonth)
	for i := range recs {
		if err := b.Add(&recs[i]); err != nil {
			tb.Fatal(err)
		}
	}
	rep, err := b.Report(b.Orgs()[0])
	if err != nil {
		tb.Fatal(err)
	}
	return rep.Cells
}
