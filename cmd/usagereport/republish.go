package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/suppress"
)

// A deliberate correction: `report --month M --republish --reason TEXT`
// makes the next version of an organisation's published month M, counting
// the records that waited for its next month (late records that arrived
// after M was published). Only the organisation's latest published month
// can be corrected: the records a later published month counted stay
// there, so that nothing counts twice.
//
// The new version is suppressed jointly with every earlier one. Let old be
// the true cells the latest version counted, and d the cells of the
// records added since (d = new - old, cell by cell). Records only ever
// add: d's events, seconds and bytes are never negative (charges can be,
// as credits, and the range check assumes nothing of charges anyway).
//
//  1. d is protected as a table of its own: the cube of the added records
//     alone, with the primary rules on its own contributors (fewer than k
//     subscribers of the added records, the p%-rule on the added amounts)
//     and secondary suppression, as any report (EachCube: Primary,
//     Dominance, Secondary, Widen, Audit). As in every report, d's total
//     is shown whatever its size: the organisation's total is on its
//     invoice, so the new total, and the difference, is known anyway.
//     With fewer than k subscribers in d, every other cell of d is hidden.
//  2. The new version shows a cell only if every earlier version showed
//     it (the latest one shows a subset of each earlier one) and d's cell
//     is shown in d's pattern or is zero (no added record in it). Every
//     other cell is hidden, new cells (no record in the old version)
//     included.
//  3. Secondary suppression hides further cells of the new version where
//     hiding more than before lets a hidden cell be worked out from the
//     rest (it never shows a cell step 2 hides), and the new version
//     passes the exact Audit on its own.
//
// Why no cell of any version becomes derivable, or narrower than its
// range, from all versions together. A reader of every version knows
// old_c for the cells the earlier versions show (the latest shows a subset
// of each, so the earliest's pattern is the most they reveal of old), and
// new_c = old_c + d_c for the cells the new version shows, hence d_c for
// those, and only those, cells of d: a subset of what d's own publication
// shows (and zeros it shows too). The unknowns are old (tied by the sums
// of the cube, at least zero) and d (tied by the same sums, at least zero,
// since records only add). No equation the reader has mixes old and d, and
// the bounds do not either, so the feasible set is the product of old's
// and d's: every old cell has the same range as from the earlier versions
// alone, which protected it, and every d cell at least the range d's own
// publication leaves it, which step 1 protected. A hidden cell of the new
// version is old_h + d_h: if old_h is shown in an earlier version, d_h is
// hidden in d's pattern (else the new version shows the cell), and is not
// determined (d's audit), and its range is d_h's; if old_h is hidden, it is
// not determined (the earlier audit) and the range of the sum is at least
// old_h's. So nothing becomes determined, and no range narrows.
// TestRepublishJointLP checks this with an LP over both versions (GLPK).

// republishOrg makes the next version of org's month m; it returns the
// record it wrote the files from.
func republishOrg(ctx context.Context, e *Env, st ur.Store, ps *publications, pb *publisher, cfg suppress.Config, org ur.Org, m ur.Month, upTo int64, reason string) (ur.Publication, error) {
	prev, err := ps.read(ctx, org, m)
	if err != nil {
		return ur.Publication{}, err
	}
	cfg.MinGroupSize, cfg.OrgMinGroupSize, cfg.DominanceP = prev.MinGroupSize, nil, prev.DominanceP

	// The month as it is now (m open again for this organisation), and
	// the records added since the latest version.
	open := ps.without(org, m)
	newB, dB := aggregate.NewBuilder(m), aggregate.NewBuilder(m)
	dSums := make(cellSums)
	add := func(r *ur.Record, seq int64) error {
		if r.Org != org {
			return nil
		}
		if err := newB.Add(r); err != nil {
			return err
		}
		if seq > prev.Covered {
			dSums.add(r)
			return dB.Add(r)
		}
		return nil
	}
	if err := ps.st.ScanMonthSeq(ctx, m, -1, upTo, add); err != nil {
		return ur.Publication{}, fmt.Errorf("read month %s: %w", m, err)
	}
	late, err := open.eachLate(ctx, st, m, upTo, map[ur.Org]bool{org: true}, add)
	if err != nil {
		return ur.Publication{}, err
	}
	if dB.Subscribers(org) == 0 {
		return ur.Publication{}, usagef("%s %s: nothing arrived since version %d was published; nothing to correct", org, m, prev.Version)
	}

	newCells, err := suppressedCells(newB, cfg, org)
	if err != nil {
		return ur.Publication{}, err
	}
	var dCells []ur.Cell
	if dB.Subscribers(org) >= cfg.MinGroupSize {
		if dCells, err = suppressedCells(dB, cfg, org); err != nil {
			return ur.Publication{}, err
		}
	} else {
		// Fewer than k subscribers added: like an organisation that
		// small, d gets no table of its own. Every cell of d but its
		// total (on the invoice, see above) is hidden.
		dCells = dSums.cells()
	}

	shownBefore := make(map[cellKey]ur.Cell)
	for _, c := range prev.Cells {
		if !c.Suppression.Hidden() {
			shownBefore[keyOf(&c)] = c
		}
	}
	dByKey := make(map[cellKey]*ur.Cell, len(dCells))
	for i := range dCells {
		dByKey[keyOf(&dCells[i])] = &dCells[i]
	}
	allowed := make([]bool, len(newCells))
	for i := range newCells {
		c := &newCells[i]
		k := keyOf(c)
		old, shown := shownBefore[k]
		d := dByKey[k]
		// The store still holds what the earlier version counted: shown
		// old cells plus d are the new cells.
		if shown {
			var dv [5]int64
			if d != nil {
				dv = [5]int64{d.Subscribers, d.Events, d.DurationS, d.VolumeBytes, int64(d.Charge)}
			}
			if c.Events != old.Events+dv[1] || c.DurationS != old.DurationS+dv[2] || c.VolumeBytes != old.VolumeBytes+dv[3] || c.Charge != old.Charge+ur.Amount(dv[4]) {
				return ur.Publication{}, fmt.Errorf("republish %s %s: the store no longer holds what version %d counted (cell %s); not corrected", org, m, prev.Version, suppress.CellName(c))
			}
		}
		allowed[i] = shown && (d == nil || !d.Suppression.Hidden())
		if allowed[i] {
			c.Suppression = ur.Published
		} else {
			c.Suppression = ur.HiddenSmall // to be protected like a primary cell
		}
	}
	// Hiding more cells than the earlier version may let a hidden one be
	// worked out from the rest: secondary suppression hides further cells
	// (never shows one), then the audit checks.
	suppress.Secondary(newCells)
	// Should secondary suppression fall short, every shown cell in a sum
	// with a hidden cell the audit finds determined is hidden too, until
	// none is.
	for range len(newCells) {
		res := suppress.Audit(newCells)
		if len(res.Disclosed) == 0 {
			break
		}
		for _, h := range res.Disclosed {
			for i := range newCells {
				if !newCells[i].Suppression.Hidden() && related(&newCells[i], &newCells[h]) {
					newCells[i].Suppression = ur.HiddenSecondary
				}
			}
		}
	}
	for i := range newCells {
		if !newCells[i].Suppression.Hidden() && !allowed[i] {
			return ur.Publication{}, fmt.Errorf("republish %s %s: secondary suppression showed a cell step 2 hides (%s)", org, m, suppress.CellName(&newCells[i]))
		}
	}
	if err := suppress.CheckCells(org, m, newCells); err != nil {
		return ur.Publication{}, fmt.Errorf("republish %s %s: %w", org, m, err)
	}
	cells := ur.PublishedCells(newCells)
	p := ur.Publication{
		Org: org, Month: m, Version: prev.Version + 1, MinGroupSize: prev.MinGroupSize, DominanceP: prev.DominanceP,
		Format: prev.Format, PublishedAt: pb.now.UTC().Truncate(1e9), Covered: upTo, LateEvents: late[org],
		Reason: reason, Digest: ur.DigestCells(cells), Cells: cells,
	}
	return pb.publishRecord(ctx, p)
}

// cellKey names a cell by its dimensions.
type cellKey struct {
	set  ur.GroupingSet
	cc   string
	svc  ur.Service
	zone ur.Zone
}

func keyOf(c *ur.Cell) cellKey { return cellKey{c.Set, c.CostCentre, c.Service, c.Zone} }

// suppressedCells computes org's cube of b as any report does and returns
// its cells with their true values and pattern.
func suppressedCells(b *aggregate.Builder, cfg suppress.Config, org ur.Org) ([]ur.Cell, error) {
	var cells []ur.Cell
	err := suppress.EachCube(b, cfg, []ur.Org{org}, func(_ int, c *suppress.Cube) error {
		cells = c.Cells
		return nil
	})
	return cells, err
}

// without returns ps as if org's month m were not published.
func (ps *publications) without(org ur.Org, m ur.Month) *publications {
	var rest []ur.Publication
	for _, p := range ps.all {
		if p.Org != org || p.Month != m {
			rest = append(rest, p)
		}
	}
	out := &publications{st: ps.st, all: rest, owner: ur.NewMonthOwner(rest), head: make(map[orgMonthKey]ur.Publication)}
	for k, p := range ps.head {
		if k != (orgMonthKey{org, m}) {
			out.head[k] = p
		}
	}
	return out
}

// latestMonth returns org's latest published month.
func (ps *publications) latestMonth(org ur.Org) ur.Month {
	var months []ur.Month
	for k := range ps.head {
		if k.org == org {
			months = append(months, k.m)
		}
	}
	return slices.Max(months)
}

// runRepublish makes the next version of month m of each organisation in
// closed, for reason, and writes its files.
func runRepublish(ctx context.Context, e *Env, st ur.Store, ps *publications, pb *publisher, cfg suppress.Config, m ur.Month, closed, unpublished []ur.Org, upTo int64, reason string) error {
	var msgs []string
	for _, org := range unpublished {
		msgs = append(msgs, fmt.Sprintf("%s %s is not published; run report without --republish", org, m))
	}
	for _, org := range closed {
		if last := ps.latestMonth(org); last != m {
			msgs = append(msgs, fmt.Sprintf("%s %s: only the latest published month (%s) can be corrected, since later months counted the records that arrived after it", org, m, last))
		}
	}
	if len(closed) == 0 && len(msgs) == 0 {
		msgs = append(msgs, fmt.Sprintf("no organisation's %s is published: nothing to correct", m))
	}
	if len(msgs) > 0 {
		return usagef("%s; nothing written", strings.Join(msgs, "; "))
	}
	for _, org := range closed {
		p, err := republishOrg(ctx, e, st, ps, pb, cfg, org, m, upTo, reason)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(e.Stdout, "%s\n", ue.Error())
			continue
		}
		if err != nil {
			return err
		}
		shown := 0
		for _, c := range p.Cells {
			if !c.Suppression.Hidden() {
				shown++
			}
		}
		fmt.Fprintf(e.Stdout, "%s %s: version %d published (%s), suppressed jointly with the earlier versions: %d of %d cells shown, %d events from earlier months\n",
			org, m, p.Version, p.Reason, shown, len(p.Cells), p.LateEvents)
	}
	return nil
}

// related reports whether one of a and b sums the other: the one with
// fewer dimensions has the other's values on each of its own.
func related(a, b *ur.Cell) bool {
	if a.Set&b.Set != a.Set && a.Set&b.Set != b.Set {
		return false
	}
	both := a.Set & b.Set
	return (!both.Has(ur.ByCostCentre) || a.CostCentre == b.CostCentre) &&
		(!both.Has(ur.ByService) || a.Service == b.Service) &&
		(!both.Has(ur.ByZone) || a.Zone == b.Zone)
}

// cellSums adds records up into the 8 grouping sets' cells.
type cellSums map[cellKey]*ur.Cell

func (cs cellSums) add(r *ur.Record) {
	for _, set := range ur.GroupingSets {
		k := cellKey{set: set}
		if set.Has(ur.ByCostCentre) {
			k.cc = r.CostCentre
		}
		if set.Has(ur.ByService) {
			k.svc = r.Service
		}
		if set.Has(ur.ByZone) {
			k.zone = r.Zone
		}
		c := cs[k]
		if c == nil {
			c = &ur.Cell{Set: k.set, CostCentre: k.cc, Service: k.svc, Zone: k.zone}
			cs[k] = c
		}
		c.Events++
		c.DurationS += r.DurationS
		c.VolumeBytes += r.VolumeBytes
		c.Charge += r.Charge
	}
}

// cells returns the cells, every one but the total hidden.
func (cs cellSums) cells() []ur.Cell {
	out := make([]ur.Cell, 0, len(cs))
	for _, c := range cs {
		cell := *c
		if cell.Set != 0 {
			cell.Suppression = ur.HiddenSmall
		}
		out = append(out, cell)
	}
	return out
}
