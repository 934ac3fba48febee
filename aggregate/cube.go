package aggregate

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	ur "usagereport"
)

// Config holds the suppression settings of a run.
type Config struct {
	// MinGroupSize is k: a cell with fewer subscribers is hidden, and an
	// organisation with fewer in its month total gets no report.
	MinGroupSize int
	// DominanceP is p of the p%-rule, in percent: a cell whose largest
	// contributor's amount the second largest could estimate to within p%
	// is hidden. Zero means DefaultDominanceP; Validate refuses values
	// outside (0, 100].
	DominanceP float64
	// OrgMinGroupSize raises k for single organisations (the registry's
	// override); a value at or below MinGroupSize changes nothing.
	OrgMinGroupSize map[ur.Org]int
}

// forOrg returns the configuration that applies to org: k is the larger of
// the run's and the organisation's own.
func (c Config) forOrg(org ur.Org) Config {
	if k := c.OrgMinGroupSize[org]; k > c.MinGroupSize {
		c.MinGroupSize = k
	}
	return c
}

// MinGroupSizeFloor is the smallest k a run may use.
const MinGroupSizeFloor = 3

// DefaultMinGroupSize is k when a run does not set it.
const DefaultMinGroupSize = 5

// DefaultDominanceP is p of the p%-rule when a run does not set it.
const DefaultDominanceP = 15

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.DominanceP == 0 {
		c.DominanceP = DefaultDominanceP
	}
	return c
}

// Validate says what is wrong with c. A zero DominanceP is valid: it
// means DefaultDominanceP.
func (c Config) Validate() error {
	if c.MinGroupSize < MinGroupSizeFloor {
		return fmt.Errorf("minimum group size %d: must be at least %d", c.MinGroupSize, MinGroupSizeFloor)
	}
	if c.DominanceP != 0 && !(c.DominanceP > 0 && c.DominanceP <= 100) {
		return fmt.Errorf("dominance p %v: must be more than 0 and at most 100 percent", c.DominanceP)
	}
	return nil
}

// Withheld names an organisation that gets no report for the month because
// its month total has fewer than k subscribers.
type Withheld struct {
	Org          ur.Org
	MinGroupSize int // the k it fell short of
}

// Cubes computes the cube of every organisation of the month, with
// suppression applied (Primary, Dominance, Secondary, Widen), and lists
// the organisations withheld. Both are in organisation order. Every cube
// passes the exact Audit; if one did not, Cubes returns an error naming
// the organisation, the month and the cell, and no cubes. Like EachCube,
// it computes each organisation's cube once.
func (b *Builder) Cubes(cfg Config) ([]*Cube, []Withheld, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	orgs, withheld := b.Eligible(cfg)
	cubes := make([]*Cube, len(orgs))
	err := b.EachCube(cfg, orgs, func(i int, c *Cube) error {
		cubes[i] = c
		return nil
	})
	if err != nil {
		for _, c := range cubes {
			if c != nil {
				c.Release()
			}
		}
		return nil, nil, err
	}
	return cubes, withheld, nil
}

// Eligible splits the month's organisations into those that get a report
// and those withheld for having fewer than their k subscribers, both in
// organisation order.
func (b *Builder) Eligible(cfg Config) (orgs []ur.Org, withheld []Withheld) {
	for _, org := range b.Orgs() {
		if k := cfg.forOrg(org).MinGroupSize; b.Subscribers(org) < k {
			withheld = append(withheld, Withheld{Org: org, MinGroupSize: k})
		} else {
			orgs = append(orgs, org)
		}
	}
	return orgs, withheld
}

// EachCube computes the cube of each of orgs (see Cubes), largest first,
// and hands it to fn(i, cube), i its index in orgs, as soon as it is ready.
// An organisation's cube is computed once: its sums are dropped as soon
// as its cells are built, so that memory falls as the report goes on.
// Organisations are independent, so they are suppressed on every core,
// and fn runs on the worker that computed the cube, concurrently for
// different organisations. fn owns the cube. After a failure (of a cube or of fn)
// EachCube starts no more organisations, and returns the error of the
// first one in orgs' order that failed.
func (b *Builder) EachCube(cfg Config, orgs []ur.Org, fn func(i int, c *Cube) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	errs := make([]error, len(orgs))
	var failed atomic.Bool
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(orgs), 1)) {
		wg.Go(func() {
			for i := range next {
				if failed.Load() {
					continue
				}
				c, err := b.orgCube(orgs[i], cfg.forOrg(orgs[i]))
				if err == nil {
					err = fn(i, c)
				}
				if err != nil {
					errs[i] = err
					failed.Store(true)
				}
			}
		})
	}
	// The largest organisations first, so that the last ones to finish
	// are small and no core waits long for the other.
	order := make([]int, len(orgs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		return cmp.Compare(b.size(orgs[y]), b.size(orgs[x]))
	})
	for _, i := range order {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// size estimates the work of an organisation's cube: its finest
// per-subscriber entries.
func (b *Builder) size(org ur.Org) int {
	if a := b.orgs[org]; a != nil {
		return len(a.fine)
	}
	return 0
}

// orgCube computes one organisation's suppressed, audited cube.
func (b *Builder) orgCube(org ur.Org, cfg Config) (*Cube, error) {
	acc := b.orgs[org]
	if acc.released {
		return nil, fmt.Errorf("aggregate %s %s: the cube was computed already", org, b.month)
	}
	cells, err := acc.cells()
	acc.release()
	if err != nil {
		return nil, fmt.Errorf("aggregate %s %s: %w", org, b.month, err)
	}
	Primary(cells, cfg)
	Dominance(cells, cfg)
	Secondary(cells)
	// Widening is best effort on top of the exact guarantee: a report
	// whose linear programs cannot be solved keeps the exact-safe pattern.
	narrow, err := Widen(cells, cfg)
	if err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsolved) {
		return nil, fmt.Errorf("aggregate %s %s: %w", org, b.month, err)
	}
	audit := Audit(cells)
	if err := audit.check(org, b.month, cells); err != nil {
		return nil, err
	}
	c := NewCube(org, b.month, cfg.MinGroupSize, cells)
	c.NarrowRanges, c.Loss, c.Disclosed = narrow, LossOf(cells), len(audit.Disclosed)
	if err != nil {
		c.NarrowRanges = -1 // not known
	}
	return c, nil
}

// Primary marks the cells with fewer than k subscribers as HiddenSmall. The
// organisation's total (the first cell) stays published: a caller withholds
// an organisation below k before it gets here.
func Primary(cells []ur.Cell, cfg Config) {
	for i := range cells {
		c := &cells[i]
		if c.Set != 0 && c.Subscribers < int64(cfg.MinGroupSize) && c.Suppression == ur.Published {
			c.Suppression = ur.HiddenSmall
		}
	}
}

// groupRow is one finest per-subscriber sum projected onto a grouping set.
type groupRow struct {
	key uint64 // cost centre rank, service, zone: sorts in report order
	sub uint32
	i   int32
}

const (
	keyAll = 0 // a dimension aggregated over sorts before any value
)

func packKey(set ur.GroupingSet, ccRank uint32, svc ur.Service, zone ur.Zone) uint64 {
	var k uint64
	if set.Has(ur.ByCostCentre) {
		k |= uint64(ccRank+1) << 16
	}
	if set.Has(ur.ByService) {
		k |= uint64(svc+1) << 8
	}
	if set.Has(ur.ByZone) {
		k |= uint64(zone + 1)
	}
	return k
}

// cells computes the 8 grouping sets from the finest per-subscriber sums,
// in report order: grouping set, then cost centre name, service, zone.
func (o *orgAcc) cells() ([]ur.Cell, error) {
	// Rank cost centres by name so that the order does not depend on the
	// order the store returned records in.
	order := make([]uint32, len(o.ccs))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int { return cmp.Compare(o.ccs[a], o.ccs[b]) })
	rank := make([]uint32, len(o.ccs))
	for r, id := range order {
		rank[id] = uint32(r)
	}

	var cells []ur.Cell
	rows := make([]groupRow, len(o.fine))
	for _, set := range ur.GroupingSets {
		for i := range o.fine {
			f := &o.fine[i]
			rows[i] = groupRow{key: packKey(set, rank[f.cc], f.svc, f.zone), sub: f.sub, i: int32(i)}
		}
		slices.SortFunc(rows, func(a, b groupRow) int {
			if c := cmp.Compare(a.key, b.key); c != 0 {
				return c
			}
			return cmp.Compare(a.sub, b.sub)
		})
		for start := 0; start < len(rows); {
			end := start
			for end < len(rows) && rows[end].key == rows[start].key {
				end++
			}
			f := &o.fine[rows[start].i]
			cell := ur.Cell{Set: set}
			if set.Has(ur.ByCostCentre) {
				cell.CostCentre = o.ccs[f.cc]
			}
			if set.Has(ur.ByService) {
				cell.Service = f.svc
			}
			if set.Has(ur.ByZone) {
				cell.Zone = f.zone
			}
			if err := fold(&cell, o.fine, rows[start:end]); err != nil {
				return nil, err
			}
			cells = append(cells, cell)
			start = end
		}
	}
	return cells, nil
}

// fold sums the rows of one cell, sorted by subscriber, into c: distinct
// subscribers, totals, and the two largest per-subscriber amounts.
func fold(c *ur.Cell, fines []fine, rows []groupRow) error {
	var total sums
	for start := 0; start < len(rows); {
		var sub sums
		end := start
		for end < len(rows) && rows[end].sub == rows[start].sub {
			if err := sub.add(fines[rows[end].i].sums); err != nil {
				return err
			}
			end++
		}
		if err := total.add(sub); err != nil {
			return err
		}
		c.Subscribers++
		top(c, ur.MeasureCharge, sub.charge)
		top(c, ur.MeasureDuration, sub.duration)
		top(c, ur.MeasureVolume, sub.volume)
		start = end
	}
	c.Events = total.events
	c.DurationS = total.duration
	c.VolumeBytes = total.volume
	c.Charge = ur.Amount(total.charge)
	return nil
}

func top(c *ur.Cell, m int, v int64) {
	switch {
	case c.Subscribers == 1:
		c.Top1[m] = v
	case c.Subscribers == 2 && v <= c.Top1[m]:
		c.Top2[m] = v
	case v > c.Top1[m]:
		c.Top2[m], c.Top1[m] = c.Top1[m], v
	case v > c.Top2[m]:
		c.Top2[m] = v
	}
}
