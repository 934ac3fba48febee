package usagereport

// Report is one organisation's report of one month: its cells in report
// order (grouping set, then cost centre, service, zone) and the rules
// they were suppressed with. It is the one value that travels from the
// cube builder to the files: aggregate makes it and marks its cells in
// place, a publication record keeps its published cells, and export
// writes it (Parquet, Excel) or reads a published one back.
type Report struct {
	Org          Org
	Month        Month
	MinGroupSize int // k the cells were suppressed with
	// DominanceP is p of the p%-rule, in percent; 0 for a report read
	// back from a file, which does not record it.
	DominanceP float64
	// Version is the publication's version (1, or 2, 3, … after a
	// correction) for a report made from a publication record; 0 for a
	// report a run has made and not yet published.
	Version int
	// Cells are the report's cells. Fresh from the cube builder they hold
	// true measures, the suppression reason and the dominance inputs
	// (Top1, Top2); a published report's hidden cells have no measures
	// (see PublishedCells). A measure a published cell hides on its own
	// (HiddenMeasures) is zero in both.
	Cells []Cell
}

// Report returns the publication's cells as a report.
func (p *Publication) Report() *Report {
	return &Report{Org: p.Org, Month: p.Month, MinGroupSize: p.MinGroupSize, DominanceP: p.DominanceP, Version: p.Version, Cells: p.Cells}
}

// ClearHiddenMeasures zeroes the amounts c hides on its own
// (HiddenMeasures): the value goes no further than suppression.
func (c *Cell) ClearHiddenMeasures() {
	if c.HiddenMeasures.Has(HideDuration) {
		c.DurationS = 0
	}
	if c.HiddenMeasures.Has(HideVolume) {
		c.VolumeBytes = 0
	}
}
