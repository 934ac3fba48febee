package suppress

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
	"usagereport/aggregate"
)

// randomRecords makes records of a few organisations with skewed sizes.
func naiveTestRecords(seed uint64, n int) []ur.Record {
	r := rand.New(rand.NewPCG(seed, 99))
	m := ur.MonthOf(2026, 10)
	ccs := []string{"", "Sales", "IT", "Økonomi", "Sales Oslo", "Lager"}
	var recs []ur.Record
	for range n {
		var p ur.Pseudonym
		p[0] = byte(r.IntN(40))
		p[15] = byte(r.IntN(2)) // pseudonyms sharing their first 8 bytes
		recs = append(recs, ur.Record{
			Org:         ur.Org(974760673 + r.IntN(3)),
			Month:       m,
			Subscriber:  p,
			CostCentre:  ccs[r.IntN(len(ccs))],
			Service:     ur.Service(r.IntN(ur.NumServices)),
			Zone:        ur.Zone(r.IntN(int(ur.NumZones))),
			DurationS:   int64(r.IntN(600)),
			VolumeBytes: int64(r.IntN(1 << 20)),
			Charge:      ur.Amount(r.IntN(200000) - 1000),
		})
	}
	return recs
}

// naiveCell computes one cell the slow, obvious way.
func naiveCell(recs []ur.Record, org ur.Org, c ur.Cell) ur.Cell {
	want := ur.Cell{Set: c.Set, CostCentre: c.CostCentre, Service: c.Service, Zone: c.Zone}
	subs := map[ur.Pseudonym]bool{}
	for _, r := range recs {
		if r.Org != org ||
			(c.Set.Has(ur.ByCostCentre) && r.CostCentre != c.CostCentre) ||
			(c.Set.Has(ur.ByService) && r.Service != c.Service) ||
			(c.Set.Has(ur.ByZone) && r.Zone != c.Zone) {
			continue
		}
		subs[r.Subscriber] = true
		want.Events++
		want.DurationS += r.DurationS
		want.VolumeBytes += r.VolumeBytes
		want.Charge += r.Charge
	}
	want.Subscribers = int64(len(subs))
	return want
}

func TestCubeMatchesNaive(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		recs := naiveTestRecords(seed, 3000)
		b := aggregate.NewBuilder(ur.MonthOf(2026, 10))
		// Feed in reverse too: the order of records must not matter.
		b2 := aggregate.NewBuilder(ur.MonthOf(2026, 10))
		for i := range recs {
			if err := b.Add(&recs[i]); err != nil {
				t.Fatal(err)
			}
			if err := b2.Add(&recs[len(recs)-1-i]); err != nil {
				t.Fatal(err)
			}
		}
		cubes, _, err := Cubes(b, Config{MinGroupSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		cubes2, _, err := Cubes(b2, Config{MinGroupSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		for ci, cube := range cubes {
			cells, cells2 := cube.Cells, cubes2[ci].Cells
			if diff := cmp.Diff(cells, cells2); diff != "" {
				t.Fatalf("seed %d org %s: record order changed the cube (-fwd +rev):\n%s", seed, cube.Org, diff)
			}
			seen := map[[4]any]bool{}
			perSet := map[ur.GroupingSet]int{}
			for _, c := range cells {
				key := [4]any{c.Set, c.CostCentre, c.Service, c.Zone}
				if seen[key] {
					t.Fatalf("duplicate cell %v", key)
				}
				seen[key] = true
				perSet[c.Set]++
				got := c
				got.Suppression, got.Top1, got.Top2 = 0, [3]int64{}, [3]int64{}
				if diff := cmp.Diff(naiveCell(recs, cube.Org, c), got); diff != "" {
					t.Errorf("seed %d org %s cell %v (-naive +cube):\n%s", seed, cube.Org, key, diff)
				}
				if c.Set == 0 && c.Suppression.Hidden() {
					t.Errorf("organisation total hidden")
				}
				if c.Suppression == ur.Published && c.Subscribers < 5 {
					t.Errorf("cell %v with %d subscribers published", key, c.Subscribers)
				}
			}
			if perSet[0] != 1 || len(perSet) != ur.NumGroupingSets {
				t.Errorf("grouping sets: %v", perSet)
			}
		}
	}
}

func TestWithheldAndK(t *testing.T) {
	m := ur.MonthOf(2026, 10)
	b := aggregate.NewBuilder(m)
	for i := range 4 {
		var p ur.Pseudonym
		p[0] = byte(i)
		if err := b.Add(&ur.Record{Org: 974760673, Month: m, Subscriber: p, Charge: 1}); err != nil {
			t.Fatal(err)
		}
	}
	cubes, withheld, err := Cubes(b, Config{MinGroupSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(cubes) != 0 || len(withheld) != 1 || withheld[0].Org != 974760673 {
		t.Errorf("4 subscribers with k=5: got %d cubes, withheld %v", len(cubes), withheld)
	}
	cubes, withheld, err = Cubes(b, Config{MinGroupSize: 3})
	if err != nil || len(cubes) != 1 || len(withheld) != 0 {
		t.Errorf("4 subscribers with k=3: got %d cubes, withheld %v, %v", len(cubes), withheld, err)
	}
	for _, k := range []int{-1, 0, 1, 2} {
		if _, _, err := Cubes(b, Config{MinGroupSize: k}); err == nil {
			t.Errorf("k=%d accepted", k)
		}
	}
	if err := b.Add(&ur.Record{Org: 974760673, Month: m + 1}); err == nil {
		t.Errorf("a record of another month was accepted")
	}
}

// TestOverflowIsAnError refuses the cube of an organisation whose charge
// sum goes beyond DECIMAL(18,4), and makes the other organisation's.
func TestOverflowIsAnError(t *testing.T) {
	m := ur.MonthOf(2026, 10)
	b := aggregate.NewBuilder(m)
	big := ur.Amount(900_000_000_000_000_000)
	const bad, good = ur.Org(974760673), ur.Org(923609016)
	for s := range 5 {
		for _, org := range []ur.Org{bad, good} {
			r := ur.Record{Org: org, Month: m, Subscriber: ur.Pseudonym{byte(s)}, Charge: 100}
			if org == bad && s < 2 {
				r.Subscriber, r.Charge = ur.Pseudonym{9}, big
			}
			if err := b.Add(&r); err != nil {
				t.Fatalf("Add: %v", err)
			}
		}
	}
	orgs := []ur.Org{bad, good}
	errs := make([]error, 2)
	made := make([]bool, 2)
	err := EachResult(b, Config{MinGroupSize: 3}, orgs, func(i int, c *Cube, err error) error {
		errs[i], made[i] = err, c != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(errs[0], ur.ErrAmountOverflow) || made[0] {
		t.Errorf("the overflowing organisation: error %v, cube made %t; want ErrAmountOverflow and none", errs[0], made[0])
	}
	if errs[1] != nil || !made[1] {
		t.Errorf("the other organisation: error %v, cube made %t; want its cube", errs[1], made[1])
	}
}

// toBatches packs records into batches the way a store does: dictionaries
// shared within a source and growing, a new source every 700 records.
func toBatches(recs []ur.Record) []ur.Batch {
	var out []ur.Batch
	var b ur.Batch
	var orgIdx map[ur.Org]uint32
	var subIdx map[ur.Pseudonym]uint32
	var ccIdx map[string]uint32
	for i, r := range recs {
		if i%700 == 0 {
			if b.Len() > 0 {
				out = append(out, b)
			}
			b = ur.Batch{Month: r.Month, Source: i / 700}
			orgIdx, subIdx, ccIdx = map[ur.Org]uint32{}, map[ur.Pseudonym]uint32{}, map[string]uint32{}
		} else if i%200 == 0 {
			out = append(out, b)
			b = ur.Batch{Month: r.Month, Source: b.Source, Orgs: b.Orgs, Subscribers: b.Subscribers, CostCentres: b.CostCentres}
		}
		o, ok := orgIdx[r.Org]
		if !ok {
			o = uint32(len(b.Orgs))
			orgIdx[r.Org] = o
			b.Orgs = append(b.Orgs, r.Org)
		}
		s, ok := subIdx[r.Subscriber]
		if !ok {
			s = uint32(len(b.Subscribers))
			subIdx[r.Subscriber] = s
			b.Subscribers = append(b.Subscribers, r.Subscriber)
		}
		c, ok := ccIdx[r.CostCentre]
		if !ok {
			c = uint32(len(b.CostCentres))
			ccIdx[r.CostCentre] = c
			b.CostCentres = append(b.CostCentres, r.CostCentre)
		}
		b.Org, b.Subscriber, b.CostCentre = append(b.Org, o), append(b.Subscriber, s), append(b.CostCentre, c)
		b.Service, b.Zone = append(b.Service, r.Service), append(b.Zone, r.Zone)
		b.DurationS, b.VolumeBytes, b.Charge = append(b.DurationS, r.DurationS), append(b.VolumeBytes, r.VolumeBytes), append(b.Charge, r.Charge)
	}
	return append(out, b)
}

// TestAddBatchMatchesAdd feeds the same records one by one and in batches,
// where pseudonyms and cost centre names recur across organisations.
func TestAddBatchMatchesAdd(t *testing.T) {
	m := ur.MonthOf(2026, 10)
	recs := naiveTestRecords(3, 5000)
	one, batched := aggregate.NewBuilder(m), aggregate.NewBuilder(m)
	for i := range recs {
		if err := one.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range toBatches(recs) {
		if err := batched.AddBatch(&b); err != nil {
			t.Fatal(err)
		}
	}
	a, _, err := Cubes(one, Config{MinGroupSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Cubes(batched, Config{MinGroupSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%d cubes one by one, %d batched", len(a), len(b))
	}
	for i := range a {
		ca, cb := a[i].Cells, b[i].Cells
		if diff := cmp.Diff(ca, cb); diff != "" {
			t.Errorf("org %s (-Add +AddBatch):\n%s", a[i].Org, diff)
		}
	}
}

func TestOrgMinGroupSize(t *testing.T) {
	m := ur.MonthOf(2026, 10)
	b := aggregate.NewBuilder(m)
	for i := range 6 {
		for _, org := range []ur.Org{974760673, 923609016} {
			if err := b.Add(&ur.Record{Org: org, Month: m, Subscriber: ur.Pseudonym{byte(i)}, Charge: 10000}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cubes, withheld, err := Cubes(b, Config{MinGroupSize: 5, OrgMinGroupSize: map[ur.Org]int{974760673: 7, 923609016: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(withheld) != 1 || withheld[0].Org != 974760673 {
		t.Errorf("withheld %v, want 974760673 (6 subscribers, its own k 7)", withheld)
	}
	if len(cubes) != 1 || cubes[0].Org != 923609016 || cubes[0].MinGroupSize != 5 {
		t.Errorf("cubes: want 923609016 with k 5 (an override below the run's changes nothing)")
	}
}

// TestCubeComputedOnce checks that a cube's sums are dropped once it is
// computed: the counts stay, and a second computation is refused rather
// than given empty cells.
func TestCubeComputedOnce(t *testing.T) {
	b := aggregate.NewBuilder(testMonth)
	for i := range 6 {
		var p ur.Pseudonym
		p[0] = byte(i)
		if err := b.Add(&ur.Record{Org: 974760673, Month: testMonth, Subscriber: p, Service: ur.SMS, Charge: 10}); err != nil {
			t.Fatal(err)
		}
	}
	cubes, _, err := Cubes(b, Config{MinGroupSize: 5})
	if err != nil || len(cubes) != 1 {
		t.Fatalf("first time: %d cubes, %v", len(cubes), err)
	}
	if n := b.Subscribers(974760673); n != 6 {
		t.Errorf("Subscribers after the cube: %d, want 6", n)
	}
	_, _, err = Cubes(b, Config{MinGroupSize: 5})
	if err == nil || !strings.Contains(err.Error(), "computed already") {
		t.Errorf("second time: %v, want an error saying it was computed already", err)
	}
}
