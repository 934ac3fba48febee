package suppress

import (
	"math"
	"math/bits"

	ur "usagereport"
)

// Dominance applies the p%-rule, the second primary rule: a published cell
// is marked HiddenDominance when, for its charge, duration or volume, the
// second largest contributor could estimate the largest one's amount to
// within p percent. The second largest knows the cell's total and their own
// amount, so their estimate of the largest is total - second, and its error
// is what everyone else contributed: the cell is sensitive when
//
//	total - largest - second < p/100 * largest.
//
// The organisation's total (the first cell) is exempt for its charge: the
// employer knows it from the invoice. Its duration and volume follow the
// rule, each on its own: a dominated one goes into the total's
// HiddenMeasures, and the total stays published (report-v2). Cells
// covering the same records as the total are the total under another
// name: published like it, or, when it hides a measure, hidden whole
// (only the total may hide a measure alone) as secondary cells. The comparison is exact
// integer arithmetic; p is taken to four decimals.
func Dominance(cells []ur.Cell, cfg Config) {
	if len(cells) == 0 {
		return
	}
	ppm := dominancePPM(cfg.WithDefaults().DominanceP)
	total := &cells[0]
	totalEvents := total.Events
	if total.Set == 0 {
		total.HiddenMeasures = 0
		if dominatedBy(total, ur.Duration, ppm) {
			total.HiddenMeasures |= ur.HideDuration
		}
		if dominatedBy(total, ur.Volume, ppm) {
			total.HiddenMeasures |= ur.HideVolume
		}
		// A group smaller than k that holds all of the total's seconds
		// (or bytes), such as the only few voice users, would be given
		// away by the total's: the total hides that amount too.
		for i := range cells {
			c := &cells[i]
			if c.Suppression != ur.HiddenSmall {
				continue
			}
			if c.DurationS != 0 && c.DurationS == total.DurationS {
				total.HiddenMeasures |= ur.HideDuration
			}
			if c.VolumeBytes != 0 && c.VolumeBytes == total.VolumeBytes {
				total.HiddenMeasures |= ur.HideVolume
			}
		}
	}
	for i := range cells {
		c := &cells[i]
		if c.Set == 0 || c.Suppression != ur.Published {
			continue
		}
		if c.Events == totalEvents {
			// Its ranges are the total's, protected with the total's
			// (Sensitive asks them of the total): hidden to keep the
			// total's hidden measures hidden, not for its own sake.
			if total.HiddenMeasures != 0 {
				c.Suppression = ur.HiddenSecondary
			}
			continue
		}
		for _, m := range amounts {
			if dominatedBy(c, m, ppm) {
				c.Suppression = ur.HiddenDominance
				break
			}
		}
	}
}

// dominancePPM turns p percent into parts per million, rounded.
func dominancePPM(p float64) uint64 {
	return uint64(math.Round(p * 1e4))
}

// amounts are the measures the p%-rule looks at.
var amounts = [...]ur.Measure{ur.Charge, ur.Duration, ur.Volume}

// dominatedBy reports whether amount m of c is dominated (see dominated).
func dominatedBy(c *ur.Cell, m ur.Measure, ppm uint64) bool {
	top1, top2 := c.Top(m)
	return dominated(m.Value(c), top1, top2, ppm)
}

// dominated reports whether |total - top1 - top2| < ppm/1e6 * top1: the
// second largest's estimate of the largest, total - top2, is off by what
// everyone else contributed. Credits can make that remainder negative; it
// is its size that protects. A largest contribution of zero or less
// reveals nothing and is never dominant; a remainder that cannot be
// computed counts as dominated, the safe side.
func dominated(total, top1, top2 int64, ppm uint64) bool {
	if top1 <= 0 {
		return false
	}
	rest, ok := ur.AddInt64(total, -top1)
	if ok {
		rest, ok = ur.AddInt64(rest, -top2)
	}
	if !ok || rest == math.MinInt64 {
		return true
	}
	if rest < 0 {
		rest = -rest
	}
	// rest*1e6 < ppm*top1, in 128 bits.
	rh, rl := bits.Mul64(uint64(rest), 1e6)
	th, tl := bits.Mul64(ppm, uint64(top1))
	return rh < th || (rh == th && rl < tl)
}

// hides reports whether published cell c hides measure m on its own (see
// ur.Cell.HiddenMeasures).
func hides(c *ur.Cell, m ur.Measure) bool {
	switch m {
	case ur.Duration:
		return c.HiddenMeasures.Has(ur.HideDuration)
	case ur.Volume:
		return c.HiddenMeasures.Has(ur.HideVolume)
	}
	return false
}

// protectCap is the most Protected asks of the upper end of a range of
// measure m: the published total bounds every cell, but not where it
// hides m.
func protectCap(cells []ur.Cell, m ur.Measure) int64 {
	if hides(&cells[0], m) {
		return math.MaxInt64
	}
	return m.Value(&cells[0])
}

// upperCap is the most Protected asks of the upper end of hidden cell h's
// range of measure m: the published total bounds every cell (protectCap),
// and for events, less one for each finest cell outside h, as every
// finest cell in the report has at least one event and a reader sees which
// are there. No pattern can do better without hiding the total's events.
func (l *layout) upperCap(cells []ur.Cell, h int, m ur.Measure) int64 {
	c := protectCap(cells, m)
	if m != ur.Events || c == math.MaxInt64 {
		return c
	}
	return c - int64(len(l.fine)-l.finestIn(h))
}

// finestIn counts the finest cells in the report that cell h sums.
func (l *layout) finestIn(h int) int {
	if b := l.block[h]; b >= 0 {
		return bits.OnesCount16(l.mask[h] &^ l.ccs[b].absent)
	}
	if l.perPos == nil {
		l.perPos = make([]int, dim)
		for _, i := range l.fine {
			l.perPos[lowBit(l.mask[i])]++
		}
	}
	n := 0
	for j := range dim {
		if l.mask[h]&(1<<j) != 0 {
			n += l.perPos[j]
		}
	}
	return n
}
