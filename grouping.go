package usagereport

import "fmt"

// groupingNames are the report's names of the grouping sets (report-v2's `grouping`
// column): the dimensions kept, joined with "+", or "total".
var groupingNames = [NumGroupingSets]string{
	0:                                 "total",
	ByCostCentre:                      "cost_centre",
	ByService:                         "service",
	ByZone:                            "roaming_zone",
	ByCostCentre | ByService:          "cost_centre+service",
	ByCostCentre | ByZone:             "cost_centre+roaming_zone",
	ByService | ByZone:                "service+roaming_zone",
	ByCostCentre | ByService | ByZone: "cost_centre+service+roaming_zone",
}

// Name returns the grouping set as a report's `grouping` column writes it, such as
// "total", "cost_centre" or "service+roaming_zone".
func (s GroupingSet) Name() string {
	if int(s) >= len(groupingNames) {
		return fmt.Sprintf("GroupingSet(%d)", uint8(s))
	}
	return groupingNames[s]
}

// ParseGroupingSet is the inverse of GroupingSet.Name.
func ParseGroupingSet(name string) (GroupingSet, error) {
	for s, n := range groupingNames {
		if n == name {
			return GroupingSet(s), nil
		}
	}
	return 0, fmt.Errorf("unknown grouping %q", name)
}
