package aggregate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

// batchGen shapes a month of batches the way the embedded store returns
// them: sources with their own growing dictionaries, interleaved
// organisations of Zipf-like sizes, each subscriber in one organisation.
type batchGen struct {
	orgs, subs, rows int
	batchRows        int
	sources          int
	// sharedPseudonyms makes pseudonyms recur across organisations and
	// pairs of them share their first 8 bytes.
	sharedPseudonyms bool
}

func (g batchGen) batches(seed uint64) []ur.Batch {
	r := rand.New(rand.NewPCG(seed, 7))
	// Organisation i weighs 1/(i+1): a few large ones, many small.
	cum := make([]float64, g.orgs)
	total := 0.0
	for i := range cum {
		total += 1 / float64(i+1)
		cum[i] = total
	}
	pickOrg := func() int {
		return min(sort.SearchFloat64s(cum, r.Float64()*total), g.orgs-1)
	}
	orgSubs := make([][]int, g.orgs)
	for j := range g.subs {
		o := j
		if j >= g.orgs {
			o = pickOrg()
		}
		orgSubs[o] = append(orgSubs[o], j)
	}
	pseudo := make([]ur.Pseudonym, g.subs)
	home := make([]string, g.subs)
	for o, subs := range orgSubs {
		nCC := 1 + len(subs)/50
		for _, j := range subs {
			home[j] = fmt.Sprintf("cc%03d", min(r.IntN(nCC), r.IntN(nCC)))
			if g.sharedPseudonyms {
				k := j % 3000
				pseudo[j][0], pseudo[j][1], pseudo[j][15] = byte(k/2), byte(k/2>>8), byte(k%2)
			} else {
				pseudo[j][0], pseudo[j][1] = byte(o), byte(j)
				for b := 2; b < 16; b++ {
					pseudo[j][b] = byte(r.Uint32())
				}
			}
		}
	}

	var out []ur.Batch
	var b ur.Batch
	var orgs []ur.Org
	var subs []ur.Pseudonym
	var ccs []string
	var orgIdx map[ur.Org]uint32
	var subIdx map[ur.Pseudonym]uint32
	var ccIdx map[string]uint32
	flush := func() {
		if b.Len() > 0 {
			b.Orgs, b.Subscribers, b.CostCentres = orgs, subs, ccs
			out = append(out, b)
		}
		b = ur.Batch{Month: testMonth, Source: b.Source}
	}
	perSource := (g.rows + g.sources - 1) / g.sources
	for i := range g.rows {
		if i%perSource == 0 {
			flush()
			b.Source = i / perSource
			orgs, subs, ccs = nil, nil, nil
			orgIdx, subIdx, ccIdx = map[ur.Org]uint32{}, map[ur.Pseudonym]uint32{}, map[string]uint32{}
		} else if b.Len() == g.batchRows {
			flush()
		}
		o := pickOrg()
		j := orgSubs[o][r.IntN(len(orgSubs[o]))]
		org, p, cc := ur.Org(900_000_000+o), pseudo[j], home[j]
		if r.IntN(10) == 0 {
			cc = fmt.Sprintf("cc%03d", r.IntN(5))
			if r.IntN(3) == 0 {
				cc = ""
			}
		}
		oi, ok := orgIdx[org]
		if !ok {
			oi = uint32(len(orgs))
			orgIdx[org] = oi
			orgs = append(orgs, org)
		}
		si, ok := subIdx[p]
		if !ok {
			si = uint32(len(subs))
			subIdx[p] = si
			subs = append(subs, p)
		}
		ci, ok := ccIdx[cc]
		if !ok {
			ci = uint32(len(ccs))
			ccIdx[cc] = ci
			ccs = append(ccs, cc)
		}
		svc, zone := ur.Service(r.IntN(ur.NumServices)), ur.Zone(min(r.IntN(8), int(ur.NumZones)-1))
		var d, v int64
		if svc == ur.Voice {
			d = int64(1 + r.IntN(600))
		}
		if svc == ur.Data {
			v = int64(r.IntN(50_000_000))
		}
		b.Org, b.Subscriber, b.CostCentre = append(b.Org, oi), append(b.Subscriber, si), append(b.CostCentre, ci)
		b.Service, b.Zone = append(b.Service, svc), append(b.Zone, zone)
		b.DurationS, b.VolumeBytes = append(b.DurationS, d), append(b.VolumeBytes, v)
		b.Charge = append(b.Charge, ur.Amount(r.IntN(200_000)))
	}
	flush()
	return out
}

// withProcs runs fn with GOMAXPROCS n.
func withProcs(n int, fn func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	fn()
}

var testMonth = ur.MonthOf(2026, 10)

// sameBuilders says how want (built record by record) and got differ: the
// organisations, each one's finest sums in the order they were made, and
// its cells.
func sameBuilders(t *testing.T, want, got *Builder) {
	t.Helper()
	if diff := cmp.Diff(want.Orgs(), got.Orgs()); diff != "" {
		t.Fatalf("organisations (-Add +AddBatch):\n%s", diff)
	}
	if len(want.Orgs()) < 2 {
		t.Fatalf("%d organisations: the test needs more", len(want.Orgs()))
	}
	for _, org := range want.Orgs() {
		a, b := want.orgs[org], got.orgs[org]
		a.flatten() // in the order of bySub, as cells reads them
		b.flatten()
		if want.Subscribers(org) != got.Subscribers(org) ||
			!slices.Equal(a.subs.list, b.subs.list) || !slices.Equal(a.ccs, b.ccs) ||
			a.nfine != b.nfine || !slices.Equal(a.flat, b.flat) || !slices.Equal(a.off, b.off) {
			t.Errorf("org %s: the finest sums differ", org)
			continue
		}
		ca, err := a.cells()
		if err != nil {
			t.Fatal(err)
		}
		cb, err := b.cells()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ca, cb); diff != "" {
			t.Errorf("org %s (-Add +AddBatch):\n%s", org, diff)
		}
	}
}

// TestAddBatchParallelMatchesAdd feeds many batches of several sources and
// many organisations, on one core and on four, and wants exactly what
// adding the records one by one gives.
func TestAddBatchParallelMatchesAdd(t *testing.T) {
	for _, g := range []batchGen{
		{orgs: 60, subs: 20_000, rows: 120_000, batchRows: 1000, sources: 5},
		{orgs: 25, subs: 9000, rows: 60_000, batchRows: 777, sources: 7, sharedPseudonyms: true},
	} {
		batches := g.batches(uint64(g.orgs))
		one := NewBuilder(testMonth)
		var rec ur.Record
		for i := range batches {
			for j := range batches[i].Len() {
				batches[i].Record(j, &rec)
				if err := one.Add(&rec); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, procs := range []int{1, 4} {
			t.Run(fmt.Sprintf("orgs=%d/shared=%t/procs=%d", g.orgs, g.sharedPseudonyms, procs), func(t *testing.T) {
				withProcs(procs, func() {
					batched := NewBuilder(testMonth)
					for i := range batches {
						if err := batched.AddBatch(&batches[i]); err != nil {
							t.Fatal(err)
						}
					}
					sameBuilders(t, one, batched)
				})
			})
		}
	}
}

// TestAddBatchParallelError wants the organisations whose sums overflow,
// and only those, refused with the error of their first row that
// overflows, as adding the records one by one gives, however the
// organisations are spread over the cores: one organisation's overflow
// stops neither the month nor the others.
func TestAddBatchParallelError(t *testing.T) {
	g := batchGen{orgs: 30, subs: 3000, rows: 20_000, batchRows: 4000, sources: 2}
	batches := g.batches(3)
	big := ur.Amount(900_000_000_000_000_000)
	// Two organisations overflow, each on the second of two rows with the
	// same key: b at row 2000, a at row 2500.
	bt := &batches[0]
	a := 100
	b := slices.IndexFunc(bt.Org, func(o uint32) bool { return o != bt.Org[a] })
	copyRow := func(to, from int) {
		bt.Org[to], bt.Subscriber[to], bt.CostCentre[to] = bt.Org[from], bt.Subscriber[from], bt.CostCentre[from]
		bt.Service[to], bt.Zone[to] = bt.Service[from], bt.Zone[from]
	}
	bt.Charge[a], bt.Charge[b], bt.Charge[2000], bt.Charge[2500] = big, big, big, big
	copyRow(2000, b)
	copyRow(2500, a)
	// errsOf returns each organisation's error, "" for a cube made.
	errsOf := func(bld *Builder) map[ur.Org]string {
		out := map[ur.Org]string{}
		for _, org := range bld.Orgs() {
			out[org] = ""
			if _, err := bld.Report(org); err != nil {
				out[org] = err.Error()
			}
		}
		return out
	}
	one := NewBuilder(testMonth)
	var rec ur.Record
	for i := range batches {
		for j := range batches[i].Len() {
			batches[i].Record(j, &rec)
			if err := one.Add(&rec); err != nil {
				t.Fatalf("Add: %v", err)
			}
		}
	}
	want := errsOf(one)
	failed := 0
	for _, e := range want {
		if e != "" {
			failed++
		}
	}
	if failed != 2 || len(want) < 3 {
		t.Fatalf("%d of %d organisations failed, want 2: %v", failed, len(want), want)
	}
	for _, procs := range []int{1, 4} {
		withProcs(procs, func() {
			bld := NewBuilder(testMonth)
			for i := range batches {
				if err := bld.AddBatch(&batches[i]); err != nil {
					t.Fatalf("procs %d: AddBatch: %v", procs, err)
				}
			}
			if diff := cmp.Diff(want, errsOf(bld)); diff != "" {
				t.Errorf("procs %d: errors per organisation (-Add +AddBatch):\n%s", procs, diff)
			}
		})
	}
}

var benchBatches = sync.OnceValue(func() []ur.Batch {
	g := batchGen{orgs: 200, subs: 120_000, rows: 2_000_000, batchRows: 1 << 14, sources: 1}
	return g.batches(1)
})

// BenchmarkAddBatch aggregates 2M rows in batches of 16k, as the embedded
// store returns them: 200 organisations of Zipf-like sizes, 120k
// subscribers.
func BenchmarkAddBatch(b *testing.B) {
	batches := benchBatches()
	rows := 0
	for i := range batches {
		rows += batches[i].Len()
	}
	b.ReportAllocs()
	for b.Loop() {
		bld := NewBuilder(testMonth)
		for i := range batches {
			if err := bld.AddBatch(&batches[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
}

// BenchmarkCells is the aggregation of one organisation of 20,000
// subscribers, which suppression runs after, for scale.
func BenchmarkCells(b *testing.B) {
	g := batchGen{orgs: 1, subs: 20_000, rows: 300_000, batchRows: 10_000, sources: 1}
	batches := g.batches(1)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		bld := NewBuilder(testMonth)
		for i := range batches {
			if err := bld.AddBatch(&batches[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if _, err := bld.Report(bld.Orgs()[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBound checks the bound's arithmetic at the edges: absolute values
// of the most negative int64, saturation, and the columns' limits.
func TestBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    bound
		n    uint64
		most bound
		want bound
		fits bool
	}{
		{"zero", bound{}, 0, bound{}, bound{}, true},
		{"rows", bound{events: 5}, 3, bound{events: 1, duration: 600}, bound{events: 8, duration: 1800}, true},
		{"charge at its limit", bound{}, 1, bound{charge: maxCharge}, bound{charge: maxCharge}, true},
		{"charge past its limit", bound{charge: 1}, 1, bound{charge: maxCharge}, bound{charge: maxCharge + 1}, false},
		{"int64 at its limit", bound{volume: math.MaxInt64 - 10}, 2, bound{volume: 5}, bound{volume: math.MaxInt64}, true},
		{"int64 past its limit", bound{duration: math.MaxInt64}, 1, bound{duration: 1}, bound{duration: math.MaxInt64 + 1}, false},
		{"product saturates", bound{}, math.MaxUint64, bound{volume: 2}, bound{volume: math.MaxUint64}, false},
		{"sum saturates", bound{events: math.MaxUint64}, 1, bound{events: 1}, bound{events: math.MaxUint64}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.b.plus(tc.n, tc.most)
			if got != tc.want || got.fits() != tc.fits {
				t.Errorf("plus = %+v (fits %t), want %+v (fits %t)", got, got.fits(), tc.want, tc.fits)
			}
		})
	}
	for _, tc := range []struct {
		v    int64
		want uint64
	}{{0, 0}, {-1, 1}, {7, 7}, {math.MaxInt64, math.MaxInt64}, {math.MinInt64, 1 << 63}} {
		if got := absU(tc.v); got != tc.want {
			t.Errorf("absU(%d) = %d, want %d", tc.v, got, tc.want)
		}
	}
}

// TestAddBatchBoundTooLarge has organisations whose bound does not fit
// while no sum overflows (large charges of both signs), so that their
// rows take the checked addition: the sums and cells must be those of
// adding the records one by one, and no organisation refused.
func TestAddBatchBoundTooLarge(t *testing.T) {
	g := batchGen{orgs: 20, subs: 3000, rows: 20_000, batchRows: 3000, sources: 2}
	batches := g.batches(5)
	big := ur.Amount(600_000_000_000_000_000)
	for i := range batches {
		bt := &batches[i]
		for j := 0; j+1 < bt.Len(); j += 997 {
			bt.Charge[j], bt.Charge[j+1] = big, -big
			// Same organisation, same key: the sum goes up to big and
			// back, never past the limit.
			bt.Org[j+1], bt.Subscriber[j+1], bt.CostCentre[j+1] = bt.Org[j], bt.Subscriber[j], bt.CostCentre[j]
			bt.Service[j+1], bt.Zone[j+1] = bt.Service[j], bt.Zone[j]
		}
	}
	one := NewBuilder(testMonth)
	var rec ur.Record
	for i := range batches {
		for j := range batches[i].Len() {
			batches[i].Record(j, &rec)
			if err := one.Add(&rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, procs := range []int{1, 4} {
		withProcs(procs, func() {
			bld := NewBuilder(testMonth)
			for i := range batches {
				if err := bld.AddBatch(&batches[i]); err != nil {
					t.Fatal(err)
				}
			}
			unfit := 0
			for _, org := range bld.Orgs() {
				if o := bld.orgs[org]; o.err != nil {
					t.Errorf("procs %d: organisation %s refused: %v", procs, org, o.err)
				} else if !o.bound.fits() {
					unfit++
				}
			}
			if unfit == 0 {
				t.Fatalf("procs %d: every bound fits: the test does not reach the checked addition", procs)
			}
			sameBuilders(t, one, bld)
		})
	}
}

// TestSealKeepsReports wants a sealed Builder to give the same
// subscriber counts, sizes and reports as one that is not, before and
// after each report, and to refuse more records.
func TestSealKeepsReports(t *testing.T) {
	g := batchGen{orgs: 20, subs: 5000, rows: 30_000, batchRows: 1000, sources: 3, sharedPseudonyms: true}
	batches := g.batches(11)
	build := func() *Builder {
		b := NewBuilder(testMonth)
		for i := range batches {
			if err := b.AddBatch(&batches[i]); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	open, sealed := build(), build()
	sealed.Seal()
	if diff := cmp.Diff(open.Orgs(), sealed.Orgs()); diff != "" {
		t.Fatalf("organisations (-open +sealed):\n%s", diff)
	}
	for _, org := range open.Orgs() {
		if open.Subscribers(org) != sealed.Subscribers(org) || open.Size(org) != sealed.Size(org) {
			t.Errorf("org %s: %d subscribers, size %d; sealed %d, %d", org,
				open.Subscribers(org), open.Size(org), sealed.Subscribers(org), sealed.Size(org))
		}
		ro, err := open.Report(org)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := sealed.Report(org)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ro, rs); diff != "" {
			t.Errorf("org %s (-open +sealed):\n%s", org, diff)
		}
		if open.Subscribers(org) != sealed.Subscribers(org) || open.Subscribers(org) == 0 {
			t.Errorf("org %s after its report: %d subscribers, sealed %d", org, open.Subscribers(org), sealed.Subscribers(org))
		}
	}
	var rec ur.Record
	batches[0].Record(0, &rec)
	if err := sealed.Add(&rec); !errors.Is(err, ErrSealed) {
		t.Errorf("Add after Seal: %v, want ErrSealed", err)
	}
	if err := sealed.AddBatch(&batches[0]); !errors.Is(err, ErrSealed) {
		t.Errorf("AddBatch after Seal: %v, want ErrSealed", err)
	}
}
