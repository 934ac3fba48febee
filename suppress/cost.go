package suppress

import (
	"cmp"
	"math"

	ur "usagereport"
)

// What hiding a cell costs: the order Secondary and Widen hide cells in.

// costCmp orders cells by what hiding them costs a reader: the charge they
// hide (its size, credits too), a cost-centre total's weighted by
// costCentreWeight since finance allocates costs by cost centre; then
// subscribers, then events.
func costCmp(a, b *ur.Cell) int {
	if c := cmp.Compare(hideCost(a), hideCost(b)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Subscribers, b.Subscribers); c != 0 {
		return c
	}
	return cmp.Compare(a.Events, b.Events)
}

// costOrder is what makes a cell cheap to hide.
type costOrder uint8

const (
	byCharge      costOrder = iota // costCmp: the charge hidden, a cost-centre total's weighted
	bySubscribers                  // subscribers first, then the charge (unweighted), then events
)

// costCmp is costCmp in l's cost order.
func (l *layout) costCmp(a, b *ur.Cell) int {
	if l.costs == bySubscribers {
		if c := cmp.Compare(a.Subscribers, b.Subscribers); c != 0 {
			return c
		}
		if c := cmp.Compare(absAmount(a.Charge), absAmount(b.Charge)); c != 0 {
			return c
		}
		return cmp.Compare(a.Events, b.Events)
	}
	return costCmp(a, b)
}

// costCentreWeight is how much more a cost-centre total's charge weighs
// than a finer or global cell's in costCmp.
const costCentreWeight = 100

// hideCost is the charge hiding c takes from a reader, in units of 1/10000
// NOK, a cost-centre total's weighted by costCentreWeight (saturating: no
// report comes near).
func hideCost(c *ur.Cell) ur.Amount {
	a := absAmount(c.Charge)
	if c.Set != ur.ByCostCentre {
		return a
	}
	if a > math.MaxInt64/costCentreWeight {
		return math.MaxInt64
	}
	return a * costCentreWeight
}

func absAmount(a ur.Amount) ur.Amount {
	if a < 0 {
		return -a
	}
	return a
}
