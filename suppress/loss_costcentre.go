package suppress

import ur "usagereport"

// CostCentreLoss measures what finance needs most: the cost-centre totals (the
// cells of grouping set cost_centre, each a cost centre's usage over every service
// and zone). Charges are summed as absolute values, as in Loss.
type CostCentreLoss struct {
	Centres         int       // cost centres in the report
	Published       int       // whose total is published
	Charge          ur.Amount // sum of |charge| over the cost-centre totals
	PublishedCharge ur.Amount // the same over the published ones
	// PrimaryCharge is the same over the totals a primary rule hides (too
	// few subscribers, or the p%-rule): no choice of secondary cells can
	// publish it, so 1 - PrimaryCharge/Charge bounds ChargeShare.
	PrimaryCharge ur.Amount
}

// CostCentreLossOf computes the cost-centre loss of one report's cells.
func CostCentreLossOf(cells []ur.Cell) CostCentreLoss {
	var l CostCentreLoss
	for i := range cells {
		c := &cells[i]
		if c.Set != ur.ByCostCentre {
			continue
		}
		ch := absAmount(c.Charge)
		l.Centres++
		l.Charge += ch
		switch c.Suppression {
		case ur.Published:
			l.Published++
			l.PublishedCharge += ch
		case ur.HiddenSecondary:
		default:
			l.PrimaryCharge += ch
		}
	}
	return l
}

// Add adds o to l, to total a run.
func (l *CostCentreLoss) Add(o CostCentreLoss) {
	l.Centres += o.Centres
	l.Published += o.Published
	l.Charge += o.Charge
	l.PublishedCharge += o.PublishedCharge
	l.PrimaryCharge += o.PrimaryCharge
}

// ChargeShare is the share of the cost centres' charge that their published
// totals carry, from 0 to 1 (1 when there is no charge).
func (l CostCentreLoss) ChargeShare() float64 {
	return share(l.PublishedCharge, l.Charge, 1)
}

// SecondaryShare is the share of the cost centres' charge whose totals
// could be published as far as the primary rules go: the most ChargeShare
// can be, from 0 to 1 (1 when there is no charge).
func (l CostCentreLoss) SecondaryShare() float64 {
	return 1 - share(l.PrimaryCharge, l.Charge, 0)
}

// CentreShare is the share of cost centres whose total is published.
func (l CostCentreLoss) CentreShare() float64 {
	return share(l.Published, l.Centres, 1)
}
