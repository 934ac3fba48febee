package suppress

import (
	"testing"

	ur "usagereport"
)

func TestCostCentreLoss(t *testing.T) {
	cells := []ur.Cell{
		{Set: 0, Charge: 1000},
		{Set: ur.ByCostCentre, CostCentre: "A", Charge: 600},
		{Set: ur.ByCostCentre, CostCentre: "B", Charge: -100, Suppression: ur.HiddenSmall},
		{Set: ur.ByCostCentre, CostCentre: "C", Charge: 300, Suppression: ur.HiddenSecondary},
		{Set: ur.ByCostCentre | ur.ByService, CostCentre: "A", Charge: 600},
	}
	got := LossOf(cells).CostCentres
	want := CostCentreLoss{Centres: 3, Published: 1, Charge: 1000, PublishedCharge: 600, PrimaryCharge: 100}
	if got != want {
		t.Errorf("LossOf(cells).CostCentres = %+v, want %+v", got, want)
	}
	if s := got.ChargeShare(); s != 0.6 {
		t.Errorf("ChargeShare = %v, want 0.6", s)
	}
	if s := got.SecondaryShare(); s != 0.9 {
		t.Errorf("SecondaryShare = %v, want 0.9", s)
	}
	var sum Loss
	sum.Add(LossOf(cells))
	sum.Add(LossOf(cells))
	if s := sum.CostCentres; s.Centres != 6 || s.PublishedCharge != 1200 || s.PrimaryCharge != 200 || s.CentreShare() != 1.0/3 {
		t.Errorf("sum of two = %+v, share %v", s, s.CentreShare())
	}
}
