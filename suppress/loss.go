package suppress

import ur "usagereport"

// Loss measures what suppression took from a report: how many cells and how
// much of the charge a reader does not see, over every cell and over the
// cost-centre totals. Charges are summed as absolute values, so credits
// count as loss too.
type Loss struct {
	Cells           int       // cells in the report
	HiddenCells     int       // cells hidden, for any reason
	HiddenPrimary   int       // hidden by a primary rule: too few subscribers or the p%-rule
	HiddenSecondary int       // hidden so that the primary cells cannot be worked out
	Charge          ur.Amount // sum of |charge| over all cells
	HiddenCharge    ur.Amount // sum of |charge| over the hidden cells
	// CostCentres is the same for the cells finance needs most.
	CostCentres CostCentreLoss
}

// LossOf computes the loss of one report's cells, in one pass.
func LossOf(cells []ur.Cell) Loss {
	var l Loss
	for i := range cells {
		c := &cells[i]
		ch := absAmount(c.Charge)
		l.Cells++
		l.Charge += ch
		if c.Set == ur.ByCostCentre {
			l.CostCentres.add(c.Suppression, ch)
		}
		switch c.Suppression {
		case ur.Published:
			continue
		case ur.HiddenSecondary:
			l.HiddenSecondary++
		default:
			l.HiddenPrimary++
		}
		l.HiddenCells++
		l.HiddenCharge += ch
	}
	return l
}

// Add adds o to l, to total the loss of a run.
func (l *Loss) Add(o Loss) {
	l.Cells += o.Cells
	l.HiddenCells += o.HiddenCells
	l.HiddenPrimary += o.HiddenPrimary
	l.HiddenSecondary += o.HiddenSecondary
	l.Charge += o.Charge
	l.HiddenCharge += o.HiddenCharge
	l.CostCentres.Centres += o.CostCentres.Centres
	l.CostCentres.Published += o.CostCentres.Published
	l.CostCentres.Charge += o.CostCentres.Charge
	l.CostCentres.PublishedCharge += o.CostCentres.PublishedCharge
	l.CostCentres.PrimaryCharge += o.CostCentres.PrimaryCharge
}

// CellShare is the share of cells hidden, from 0 to 1.
func (l Loss) CellShare() float64 {
	return share(l.HiddenCells, l.Cells, 0)
}

// ChargeShare is the share of the charge (summed over all cells, every
// grouping set) that is hidden, from 0 to 1.
func (l Loss) ChargeShare() float64 {
	return share(l.HiddenCharge, l.Charge, 0)
}

// share is part/whole, or none when whole is zero.
func share[T ~int | ~int64](part, whole T, none float64) float64 {
	if whole == 0 {
		return none
	}
	return float64(part) / float64(whole)
}
