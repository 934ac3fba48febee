package suppress

import (
	"cmp"
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

// Source is where a run takes a month's organisations and their reports
// from, the cells not yet suppressed: aggregate.Builder.
type Source interface {
	// Orgs lists the month's organisations in organisation order.
	Orgs() []ur.Org
	// Subscribers is org's count of distinct subscribers in the month.
	Subscribers(org ur.Org) int
	// Size estimates the work of org's report, to start large ones first.
	Size(org ur.Org) int
	// Report computes org's report; it is called once per organisation.
	Report(org ur.Org) (*ur.Report, error)
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
func Cubes(b Source, cfg Config) ([]*Cube, []Withheld, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	orgs, withheld := Eligible(b, cfg)
	cubes := make([]*Cube, len(orgs))
	err := EachCube(b, cfg, orgs, func(i int, c *Cube) error {
		cubes[i] = c
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return cubes, withheld, nil
}

// Eligible splits the month's organisations into those that get a report
// and those withheld for having fewer than their k subscribers, both in
// organisation order.
func Eligible(b Source, cfg Config) (orgs []ur.Org, withheld []Withheld) {
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
func EachCube(b Source, cfg Config, orgs []ur.Org, fn func(i int, c *Cube) error) error {
	return EachResult(b, cfg, orgs, func(i int, c *Cube, err error) error {
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
func EachResult(b Source, cfg Config, orgs []ur.Org, fn func(i int, c *Cube, err error) error) error {
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
				c, err := orgCube(b, orgs[i], cfg.forOrg(orgs[i]))
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
		return cmp.Compare(b.Size(orgs[y]), b.Size(orgs[x]))
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

// orgCube computes one organisation's suppressed, audited cube.
func orgCube(b Source, org ur.Org, cfg Config) (*Cube, error) {
	rep, err := b.Report(org)
	if err != nil {
		return nil, err
	}
	cells := rep.Cells
	res, err := Suppress(cells, cfg)
	if err != nil {
		return nil, fmt.Errorf("aggregate %s %s: %w", org, rep.Month, err)
	}
	if err := res.Audit.check(org, rep.Month, cells); err != nil {
		return nil, err
	}
	c := &Cube{
		NarrowRanges: res.Narrow, Loss: LossOf(cells), Disclosed: len(res.Audit.Disclosed),
		Fallback: res.Fallback != NoFallback, GivenBack: res.GivenBack,
	}
	// The figures above are the last to read a measure the total hides on
	// its own: from here on it is zero.
	for i := range cells {
		cells[i].ClearHiddenMeasures()
	}
	rep.MinGroupSize, rep.DominanceP = cfg.MinGroupSize, cfg.WithDefaults().DominanceP
	c.Report = *rep
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
