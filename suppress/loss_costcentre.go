package suppress

import ur "usagereport"

// CostCentreLoss measures what finance needs most: the cost-centre totals (the
// cells of grouping set cost_centre, each a cost centre's usage over every service
// and zone), a part of Loss. Charges are summed as absolute values.
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

// add counts one cost-centre total, of charge ch (absolute).
func (l *CostCentreLoss) add(s ur.Suppression, ch ur.Amount) {
	l.Centres++
	l.Charge += ch
	switch s {
	case ur.Published:
		l.Published++
		l.PublishedCharge += ch
	case ur.HiddenSecondary:
	default:
		l.PrimaryCharge += ch
	}
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
