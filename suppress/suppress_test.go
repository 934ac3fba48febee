package suppress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	ur "usagereport"
	"usagereport/aggregate"
)

var testMonth = ur.MonthOf(2026, 10)

// genConfig shapes a random month of records.
type genConfig struct {
	orgs         int
	minSubs      int // per organisation
	maxSubs      int
	maxCCs       int
	maxEvents    int  // per subscriber
	dominantOdds int  // one subscriber in dominantOdds spends 50x; 0: none
	exactCCs     bool // maxCCs cost centres, not a random number up to it
}

// randomRecords draws a month of records: organisations of random size,
// skewed cost centres (some tiny), mostly domestic voice and data, and now
// and then a dominant spender.
func randomRecords(r *rand.Rand, g genConfig) []ur.Record {
	var recs []ur.Record
	for o := range g.orgs {
		org := ur.Org(900_000_000 + o)
		nSubs := g.minSubs + r.IntN(g.maxSubs-g.minSubs+1)
		nCC := 1 + r.IntN(g.maxCCs)
		if g.exactCCs {
			nCC = g.maxCCs
		}
		for s := range nSubs {
			var sub ur.Pseudonym
			sub[0], sub[1], sub[2] = byte(o), byte(s), byte(s>>8)
			// Skew: low cost-centre numbers are more likely.
			cc := fmt.Sprintf("cc%03d", min(r.IntN(nCC), r.IntN(nCC)))
			if r.IntN(10) == 0 {
				cc = ""
			}
			spend := int64(1)
			if g.dominantOdds > 0 && r.IntN(g.dominantOdds) == 0 {
				spend = 50
			}
			for range 1 + r.IntN(g.maxEvents) {
				rec := ur.Record{Org: org, Month: testMonth, Subscriber: sub, CostCentre: cc}
				switch x := r.IntN(20); {
				case x < 8:
					rec.Service = ur.Voice
					rec.DurationS = int64(1 + r.IntN(600))
				case x < 13:
					rec.Service = ur.SMS
				case x < 14:
					rec.Service = ur.MMS
				default:
					rec.Service = ur.Data
					rec.VolumeBytes = int64(r.IntN(50_000_000))
				}
				switch x := r.IntN(30); {
				case x < 25:
					rec.Zone = ur.Domestic
				case x < 29:
					rec.Zone = ur.EUEEA
				default:
					rec.Zone = ur.World
				}
				rec.Charge = ur.Amount(spend * int64(r.IntN(200_000)))
				recs = append(recs, rec)
			}
		}
	}
	return recs
}

func buildCubes(tb testing.TB, recs []ur.Record, cfg Config) []*Cube {
	tb.Helper()
	b := aggregate.NewBuilder(testMonth)
	for i := range recs {
		if err := b.Add(&recs[i]); err != nil {
			tb.Fatal(err)
		}
	}
	cubes, _, err := Cubes(b, cfg)
	if err != nil {
		tb.Fatalf("Cubes: %v", err)
	}
	return cubes
}

// mustCells returns a copy of c's cells, for a test to change.
func mustCells(tb testing.TB, c *Cube) []ur.Cell {
	tb.Helper()
	return slices.Clone(c.Cells)
}

// TestPrimaryOnlyDiscloses hands the audit the pattern of primary
// suppression alone and expects it to name a disclosed cell.
func TestPrimaryOnlyDiscloses(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	recs := randomRecords(r, genConfig{orgs: 1, minSubs: 40, maxSubs: 40, maxCCs: 6, maxEvents: 10})
	b := aggregate.NewBuilder(testMonth)
	for i := range recs {
		if err := b.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	org := b.Orgs()[0]
	cells, err := unsuppressed(b, org)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{MinGroupSize: 5}
	Primary(cells, cfg)
	res := Audit(cells)
	if res.Hidden == 0 || len(res.Disclosed) == 0 {
		t.Fatalf("Audit of primary-only pattern: hidden %d, disclosed %v; want a disclosure", res.Hidden, res.Disclosed)
	}
	err = CheckCells(org, testMonth, cells)
	if !errors.Is(err, ErrDisclosed) || !strings.Contains(err.Error(), "cost_centre=") {
		t.Errorf("CheckCells = %v, want ErrDisclosed naming the cell", err)
	}
	t.Logf("primary only: %d hidden, %d disclosed; %v", res.Hidden, len(res.Disclosed), err)

	Dominance(cells, cfg)
	Secondary(cells)
	if res := Audit(cells); len(res.Disclosed) > 0 {
		t.Errorf("after Secondary: disclosed %v", res.Disclosed)
	}
}

// TestSuppressionProperties builds many random months through the real
// path and checks every report: the audit passes, every primary cell is
// hidden, the organisation total is published, and the pattern does not
// depend on the order records arrive in.
func TestSuppressionProperties(t *testing.T) {
	shapes := []struct {
		name string
		g    genConfig
	}{
		{"tiny", genConfig{orgs: 3, minSubs: 5, maxSubs: 12, maxCCs: 3, maxEvents: 4, dominantOdds: 5}},
		{"small", genConfig{orgs: 3, minSubs: 5, maxSubs: 40, maxCCs: 8, maxEvents: 8, dominantOdds: 10}},
		{"wide", genConfig{orgs: 2, minSubs: 30, maxSubs: 200, maxCCs: 40, maxEvents: 6, dominantOdds: 20}},
		{"one-cc", genConfig{orgs: 3, minSubs: 5, maxSubs: 30, maxCCs: 1, maxEvents: 10, dominantOdds: 3}},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			for seed := range uint64(60) {
				r := rand.New(rand.NewPCG(seed, 7))
				recs := randomRecords(r, sh.g)
				k := 3 + int(seed%4)
				cfg := Config{MinGroupSize: k}
				cubes := buildCubes(t, recs, cfg)
				r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
				again := buildCubes(t, recs, cfg)
				for ci, cube := range cubes {
					cells := mustCells(t, cube)
					checkReport(t, fmt.Sprintf("seed %d org %s", seed, cube.Org), cells, cfg)
					other := mustCells(t, again[ci])
					for i := range cells {
						if cells[i].Suppression != other[i].Suppression {
							t.Fatalf("seed %d org %s: cell %s: %v, then %v after shuffling the records",
								seed, cube.Org, CellName(&cells[i]), cells[i].Suppression, other[i].Suppression)
						}
					}
				}
			}
		})
	}
}

func checkReport(t *testing.T, name string, cells []ur.Cell, cfg Config) {
	t.Helper()
	if cells[0].Set != 0 || cells[0].Suppression.Hidden() {
		t.Errorf("%s: organisation total hidden", name)
	}
	ppm := dominancePPM(cfg.WithDefaults().DominanceP)
	for i := range cells {
		c := &cells[i]
		if c.Set == 0 {
			continue
		}
		if c.Subscribers < int64(cfg.MinGroupSize) && !c.Suppression.Hidden() {
			t.Errorf("%s: cell %s with %d subscribers published", name, CellName(c), c.Subscribers)
		}
		if c.Events == cells[0].Events {
			continue
		}
		for _, m := range amounts {
			if dominatedBy(c, m, ppm) && !c.Suppression.Hidden() {
				t.Errorf("%s: dominated cell %s published", name, CellName(c))
			}
		}
	}
	if res := Audit(cells); len(res.Disclosed) > 0 {
		t.Errorf("%s: %d of %d hidden cells disclosed, first %s", name, len(res.Disclosed), res.Hidden, CellName(&cells[res.Disclosed[0]]))
	}
}
