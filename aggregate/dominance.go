package aggregate

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
// Cells covering the same records as the organisation's total (the first
// cell) are exempt like the total itself: the employer knows them from the
// invoice. The comparison is exact integer arithmetic; p is taken to four
// decimals.
func Dominance(cells []ur.Cell, cfg Config) {
	if len(cells) == 0 {
		return
	}
	ppm := dominancePPM(cfg.WithDefaults().DominanceP)
	totalEvents := cells[0].Events
	for i := range cells {
		c := &cells[i]
		if c.Set == 0 || c.Suppression != ur.Published || c.Events == totalEvents {
			continue
		}
		for m := range ur.NumDominanceMeasures {
			if dominated(measureTotal(c, m), c.Top1[m], c.Top2[m], ppm) {
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

func measureTotal(c *ur.Cell, m int) int64 {
	switch m {
	case ur.MeasureCharge:
		return int64(c.Charge)
	case ur.MeasureDuration:
		return c.DurationS
	default:
		return c.VolumeBytes
	}
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
	rest, ok := addInt(total, -top1)
	if ok {
		rest, ok = addInt(rest, -top2)
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
