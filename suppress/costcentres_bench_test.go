package suppress

import (
	"fmt"
	"math/rand/v2"
	"testing"

	ur "usagereport"
	"usagereport/aggregate"
)

// tinyCostCentreRecords returns the records of one organisation with n cost
// centres of one subscriber each, the red team's worst case for
// suppression: every cost-centre cell is below k, so the whole cost-centre
// part of the cube is hidden and only the global cells are published. Each
// subscriber has a few events of voice, SMS or data, mostly domestic.
func tinyCostCentreRecords(n int) []ur.Record {
	r := rand.New(rand.NewPCG(uint64(n), 21))
	org := ur.Org(927_489_058)
	var recs []ur.Record
	for s := range n {
		var sub ur.Pseudonym
		sub[0], sub[1], sub[2], sub[3] = byte(s), byte(s>>8), byte(s>>16), 1
		cc := fmt.Sprintf("project-%06d", s)
		for range 1 + r.IntN(4) {
			rec := ur.Record{Org: org, Month: testMonth, Subscriber: sub, CostCentre: cc}
			switch x := r.IntN(10); {
			case x < 5:
				rec.Service = ur.Voice
				rec.DurationS = int64(1 + r.IntN(600))
			case x < 7:
				rec.Service = ur.SMS
			default:
				rec.Service = ur.Data
				rec.VolumeBytes = int64(r.IntN(50_000_000))
			}
			if r.IntN(10) == 0 {
				rec.Zone = ur.EUEEA
			}
			rec.Charge = ur.Amount(r.IntN(50_0000))
			recs = append(recs, rec)
		}
	}
	return recs
}

// BenchmarkTinyCostCentres is the whole suppression of one organisation
// (Builder.Cubes: aggregation, primary, p%-rule, secondary, widening and
// the audit) with n cost centres of one subscriber each. Its time and
// memory must grow about linearly with n (issue 21).
func BenchmarkTinyCostCentres(b *testing.B) {
	for _, n := range []int{1_000, 5_000, 20_000, 100_000} {
		recs := tinyCostCentreRecords(n)
		b.Run(fmt.Sprintf("ccs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var hidden int
			for b.Loop() {
				bld := aggregate.NewBuilder(testMonth)
				for i := range recs {
					if err := bld.Add(&recs[i]); err != nil {
						b.Fatal(err)
					}
				}
				cubes, _, err := Cubes(bld, Config{MinGroupSize: 5})
				if err != nil {
					b.Fatal(err)
				}
				if len(cubes) != 1 {
					b.Fatalf("%d cubes, want 1", len(cubes))
				}
				l := cubes[0].Loss
				hidden = l.HiddenCells
			}
			b.ReportMetric(float64(hidden), "hidden")
		})
	}
}
