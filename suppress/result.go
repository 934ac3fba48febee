package suppress

import ur "usagereport"

// Cube is one organisation's report as a run made it, with the figures
// of its suppression. The report (ur.Report) is what travels on to the
// files; the figures stay with the run (its summary and log).
type Cube struct {
	ur.Report
	// NarrowRanges counts the (cell, measure) pairs of the hidden small
	// and dominated cells whose range a reader can narrow more than the
	// rule allows (see Widen): Widen's best effort fell short there; -1
	// where its linear programs could not be solved.
	NarrowRanges int
	// Loss is the information loss of the suppression, and Disclosed
	// the cells the exact audit found determined (always 0: a cube that
	// fails the audit is not made).
	Loss      Loss
	Disclosed int
	// Fallback is set when the report got the fallback pattern instead of
	// the search's (see Suppress and FallbackReason).
	Fallback bool
	// GivenBack is what Suppress published again: secondary cells a
	// reader could work out exactly.
	GivenBack GivenBack
}

// NewCube makes a cube of cells in report order, without figures.
func NewCube(org ur.Org, m ur.Month, k int, cells []ur.Cell) *Cube {
	return &Cube{Report: ur.Report{Org: org, Month: m, MinGroupSize: k, Cells: cells}}
}
