package aggregate

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"

	ur "usagereport"
)

// Report computes org's report of the month, its cells not yet
// suppressed (suppress.EachResult does that). The sums it is computed
// from are dropped, so that memory falls as a run goes on: a second call
// for org is an error.
func (b *Builder) Report(org ur.Org) (*ur.Report, error) {
	acc := b.orgs[org]
	if acc == nil {
		return nil, fmt.Errorf("aggregate %s %s: no records", org, b.month)
	}
	if acc.released {
		return nil, fmt.Errorf("aggregate %s %s: the cube was computed already", org, b.month)
	}
	defer acc.release()
	if acc.err != nil {
		return nil, fmt.Errorf("aggregate %s %s: %w", org, b.month, acc.err)
	}
	cells, err := acc.cells()
	if err != nil {
		return nil, fmt.Errorf("aggregate %s %s: %w", org, b.month, err)
	}
	return &ur.Report{Org: org, Month: b.month, Cells: cells}, nil
}

// Size estimates the work of org's report: its finest per-subscriber
// entries.
func (b *Builder) Size(org ur.Org) int {
	if a := b.orgs[org]; a != nil {
		return a.nfine
	}
	return 0
}

// cells computes the 8 grouping sets from the finest per-subscriber sums,
// in report order: grouping set, then cost centre name, service, zone.
func (o *orgAcc) cells() ([]ur.Cell, error) {
	o.flatten()
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
		for s := range len(o.off) - 1 {
			refs := o.flat[o.off[s]:o.off[s+1]]
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
	// Every sum below is of records of the organisation: when their bound
	// fits, none overflows.
	fits := o.bound.fits()
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
		for s := range len(o.off) - 1 {
			refs := o.flat[o.off[s]:o.off[s+1]]
			parts = parts[:0]
		refs:
			for k := range refs {
				r := &refs[k]
				slot := slotOf(g, r)
				for j := range parts {
					if parts[j].slot == slot {
						if fits {
							parts[j].sums.addUnchecked(r.sums)
						} else if err := parts[j].sums.add(r.sums); err != nil {
							return nil, err
						}
						continue refs
					}
				}
				parts = append(parts, part{slot: slot, ref: r, sums: r.sums})
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
				if fits {
					totals[i].addUnchecked(pt.sums)
				} else if err := totals[i].add(pt.sums); err != nil {
					return nil, err
				}
				c.Subscribers++
				c.AddTop(ur.Charge, pt.sums.charge)
				c.AddTop(ur.Duration, pt.sums.duration)
				c.AddTop(ur.Volume, pt.sums.volume)
			}
		}
		for i := range acc {
			c, t := &acc[i], &totals[i]
			c.Events, c.DurationS, c.VolumeBytes, c.Charge = t.events, t.duration, t.volume, ur.Amount(t.charge)
		}
	}
	return cells, nil
}
