package usagereport

// GroupingSet says which dimensions a report cell keeps; the others are
// aggregated over (null in Parquet, "All" in Excel).
type GroupingSet uint8

// The dimension bits of a GroupingSet.
const (
	ByCostCentre GroupingSet = 1 << iota
	ByService
	ByZone
	NumGroupingSets = 8
)

// GroupingSets lists the 8 sets of the cube in report order: the
// organisation's total first, the finest cells last.
var GroupingSets = [NumGroupingSets]GroupingSet{
	0,
	ByCostCentre,
	ByService,
	ByZone,
	ByCostCentre | ByService,
	ByCostCentre | ByZone,
	ByService | ByZone,
	ByCostCentre | ByService | ByZone,
}

// Has reports whether s keeps dimension d.
func (s GroupingSet) Has(d GroupingSet) bool { return s&d != 0 }

// Suppression says whether a cell is published and, internally, why not.
// The reason never leaves the process: a report shows hidden cells alike.
type Suppression uint8

// Why a cell is hidden.
const (
	Published       Suppression = iota
	HiddenSmall                 // primary: fewer than k subscribers
	HiddenDominance             // primary: the p%-rule on an amount
	HiddenSecondary             // complementary: would reveal a hidden cell
)

// Hidden reports whether the cell's measures are withheld.
func (s Suppression) Hidden() bool { return s != Published }

// MeasureMask is a set of the amounts that a published cell hides on
// their own. Only the organisation's total has any (report-v2): its
// duration_s and volume_bytes follow the p%-rule while its subscribers,
// events and charge are always shown.
type MeasureMask uint8

// The measures a MeasureMask can hold.
const (
	HideDuration MeasureMask = 1 << iota
	HideVolume
)

// Has reports whether m holds x.
func (m MeasureMask) Has(x MeasureMask) bool { return m&x != 0 }

// Cell is one cell of a report: a grouping set, its key, five measures and
// whether it is published. Top1 and Top2 are the largest and second largest
// single-subscriber contributions to the cell per amount (Duration, Volume,
// Charge; see Top); they exist for the dominance rule and are never written
// to a report.
type Cell struct {
	Set         GroupingSet
	CostCentre  string // when Set has ByCostCentre; "" is reported as Unassigned
	Service     Service
	Zone        Zone
	Subscribers int64
	Events      int64
	DurationS   int64
	VolumeBytes int64
	Charge      Amount
	Suppression Suppression
	// HiddenMeasures, on the published organisation total only, are the
	// amounts it does not show (null in Parquet, the hidden mark in Excel).
	HiddenMeasures MeasureMask
	Top1, Top2     [NumMeasures - Duration]int64
}

// CostCentreName returns the cost centre as a report shows it.
func (c *Cell) CostCentreName() string {
	if c.CostCentre == "" {
		return Unassigned
	}
	return c.CostCentre
}
