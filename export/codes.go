package export

import (
	ur "usagereport"
)

// Code is one code of the Parquet file and the label the workbook shows for it.
type Code struct {
	Column string // Parquet column
	Code   string
	Label  string
}

// groupingLabels say where the workbook shows each level of the report.
var groupingLabels = [ur.NumGroupingSets]string{
	0:                              "Organisation total (Summary)",
	ur.ByCostCentre:                "A cost centre, all services (Cost centres, " + All + ")",
	ur.ByService:                   "A service (Summary, by service)",
	ur.ByZone:                      "A roaming zone (Summary, by roaming zone)",
	ur.ByCostCentre | ur.ByService: "A cost centre's service (Cost centres)",
	ur.ByCostCentre | ur.ByZone:    "A cost centre's roaming zone (data file only)",
	ur.ByService | ur.ByZone:       "A service in a roaming zone (Roaming)",
	ur.ByCostCentre | ur.ByService | ur.ByZone: "A cost centre's service in a roaming zone (data file only)",
}

// Codes returns the codes of the `service`, `roaming_zone` and `grouping` columns with
// their workbook labels, in report order. The About sheet and the README show them.
func Codes() []Code {
	var out []Code
	for s := range ur.Service(ur.NumServices) {
		out = append(out, Code{"service", s.String(), serviceLabels[s]})
	}
	for z := range ur.Zone(ur.NumZones) {
		out = append(out, Code{"roaming_zone", z.String(), zoneLabels[z]})
	}
	for _, g := range ur.GroupingSets {
		out = append(out, Code{"grouping", g.Name(), groupingLabels[g]})
	}
	return out
}
