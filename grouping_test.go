package usagereport

import "testing"

func TestGroupingSetName(t *testing.T) {
	tests := []struct {
		set  GroupingSet
		want string
	}{
		{0, "total"},
		{ByCostCentre, "cost_centre"},
		{ByService, "service"},
		{ByZone, "roaming_zone"},
		{ByCostCentre | ByService, "cost_centre+service"},
		{ByCostCentre | ByZone, "cost_centre+roaming_zone"},
		{ByService | ByZone, "service+roaming_zone"},
		{ByCostCentre | ByService | ByZone, "cost_centre+service+roaming_zone"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.set.Name(); got != tt.want {
				t.Errorf("GroupingSet(%d).Name() = %q, want %q", tt.set, got, tt.want)
			}
			back, err := ParseGroupingSet(tt.want)
			if err != nil || back != tt.set {
				t.Errorf("ParseGroupingSet(%q) = %d, %v; want %d", tt.want, back, err, tt.set)
			}
		})
	}
	if _, err := ParseGroupingSet("cost_centre+cost_centre"); err == nil {
		t.Errorf("ParseGroupingSet accepted a name that is no grouping")
	}
}
