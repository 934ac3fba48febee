package aggregate

import (
	"cmp"
	"fmt"
	"math/bits"
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
	// costs is the order Secondary and Widen hide cells in: by charge
	// (the zero value), or by subscribers for Suppress's second try.
	costs costOrder
	// keep marks the cells Secondary and Widen must leave published (see
	// swapCostCentres); nil for none.
	keep []bool
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
// suppression applied (Suppress), and lists the organisations withheld.
// Both are in organisation order. Every cube passes the exact Audit (the
// fallback pattern's, if need be); if one could not be made, Cubes returns
// its error, and no cubes (EachResult goes on without it). Like EachCube,
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
	return b.EachResult(cfg, orgs, func(i int, c *Cube, err error) error {
		if err != nil {
			return err
		}
		return fn(i, c)
	})
}

// EachResult is EachCube for a run that goes on when an organisation's
// cube cannot be made: fn gets either the cube or the error that kept it
// from being made (cube nil), and only an error fn returns stops the
// other organisations. One organisation's trouble stays its own.
func (b *Builder) EachResult(cfg Config, orgs []ur.Org, fn func(i int, c *Cube, err error) error) error {
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
				if err := fn(i, c, err); err != nil {
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
	if acc.err != nil {
		err := acc.err
		acc.release()
		return nil, fmt.Errorf("aggregate %s %s: %w", org, b.month, err)
	}
	cells, err := acc.cells()
	acc.release()
	if err != nil {
		return nil, fmt.Errorf("aggregate %s %s: %w", org, b.month, err)
	}
	res, err := Suppress(cells, cfg)
	if err != nil {
		return nil, fmt.Errorf("aggregate %s %s: %w", org, b.month, err)
	}
	if err := res.Audit.check(org, b.month, cells); err != nil {
		return nil, err
	}
	c := NewCube(org, b.month, cfg.MinGroupSize, cells)
	c.NarrowRanges, c.Loss, c.Disclosed = res.Narrow, LossOf(cells), len(res.Audit.Disclosed)
	c.CostCentreLoss = CostCentreLossOf(cells)
	c.Fallback, c.GivenBack = res.Fallback != NoFallback, res.GivenBack
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

	// Each grouping set in one pass over the subscribers, in id order:
	// a subscriber's handful of finest entries projected onto the set's
	// cells, summed per cell, then added to those cells. A set's slots are
	// its dense array in report order (cost centre rank, service, zone);
	// a first pass marks the slots in use, so that the cells are made
	// once, at their final place, and only for those: as a dense array
	// the finest set alone would be 12 cells per cost centre, most of them
	// empty when cost centres are many and small.
	type part struct {
		slot int
		ref  *subFine // one of the entries: the cell's dimensions
		sums sums
	}
	type layoutOf struct {
		set        ur.GroupingSet
		nsvc, nzon int
		used       []uint64 // a bit per slot
		rank       []int32  // per word of used: the used slots before it
		first, n   int      // the set's cells in the result
	}
	slotOf := func(g *layoutOf, r *subFine) int {
		slot := 0
		if g.set.Has(ur.ByCostCentre) {
			slot = int(rank[r.cc])
		}
		slot *= g.nsvc
		if g.set.Has(ur.ByService) {
			slot += int(r.svc)
		}
		slot *= g.nzon
		if g.set.Has(ur.ByZone) {
			slot += int(r.zone)
		}
		return slot
	}
	var sets [ur.NumGroupingSets]layoutOf
	total := 0
	for k, set := range ur.GroupingSets {
		g := &sets[k]
		g.set, g.nsvc, g.nzon = set, 1, 1
		if set.Has(ur.ByService) {
			g.nsvc = int(ur.NumServices)
		}
		if set.Has(ur.ByZone) {
			g.nzon = int(ur.NumZones)
		}
		ncc := 1
		if set.Has(ur.ByCostCentre) {
			ncc = len(o.ccs)
		}
		g.used = make([]uint64, (ncc*g.nsvc*g.nzon+63)/64)
		for _, refs := range o.bySub {
			for k := range refs {
				slot := slotOf(g, &refs[k])
				g.used[slot/64] |= 1 << (slot % 64)
			}
		}
		g.rank = make([]int32, len(g.used))
		g.first = total
		for w, word := range g.used {
			g.rank[w] = int32(g.n)
			g.n += bits.OnesCount64(word)
		}
		total += g.n
	}
	cells := make([]ur.Cell, total)
	var totals []sums
	var parts []part
	for k := range sets {
		g := &sets[k]
		set := g.set
		acc := cells[g.first : g.first+g.n]
		totals = slices.Grow(totals[:0], g.n)[:g.n]
		clear(totals)
		at := func(slot int) int {
			w := slot / 64
			return int(g.rank[w]) + bits.OnesCount64(g.used[w]&(1<<(slot%64)-1))
		}
		for _, refs := range o.bySub {
			parts = parts[:0]
		refs:
			for k := range refs {
				r := &refs[k]
				slot := slotOf(g, r)
				for j := range parts {
					if parts[j].slot == slot {
						if err := parts[j].sums.add(o.fine[r.i].sums); err != nil {
							return nil, err
						}
						continue refs
					}
				}
				parts = append(parts, part{slot: slot, ref: r, sums: o.fine[r.i].sums})
			}
			for _, pt := range parts {
				i := at(pt.slot)
				c := &acc[i]
				if c.Subscribers == 0 {
					c.Set = set
					if set.Has(ur.ByCostCentre) {
						c.CostCentre = o.ccs[pt.ref.cc]
					}
					if set.Has(ur.ByService) {
						c.Service = pt.ref.svc
					}
					if set.Has(ur.ByZone) {
						c.Zone = pt.ref.zone
					}
				}
				if err := totals[i].add(pt.sums); err != nil {
					return nil, err
				}
				c.Subscribers++
				top(c, ur.MeasureCharge, pt.sums.charge)
				top(c, ur.MeasureDuration, pt.sums.duration)
				top(c, ur.MeasureVolume, pt.sums.volume)
			}
		}
		for i := range acc {
			c, t := &acc[i], &totals[i]
			c.Events, c.DurationS, c.VolumeBytes, c.Charge = t.events, t.duration, t.volume, ur.Amount(t.charge)
		}
	}
	return cells, nil
}

// top records v, one subscriber's amount of measure m in c, among the
// two largest (c.Subscribers counts the subscriber already).
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
