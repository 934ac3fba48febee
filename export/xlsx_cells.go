package export

import (
	"fmt"

	ur "usagereport"
)

// cellTable indexes a report's cells for the workbook: where each
// grouping set's cells are. A workbook of thousands of cost centres then
// needs no copy of the cells, only an index per cost centre.
//
// shown is the one way out of it, and it returns no measure of a hidden
// cell: whatever the workbook writes was published.
type cellTable struct {
	month ur.Month
	cells []ur.Cell
	spans [ur.NumGroupingSets]span // cells of each grouping set, indexed by its value
}

// span is a range of cells [start, end).
type span struct{ start, end int }

func (s span) len() int { return s.end - s.start }

func newCellTable(rep *ur.Report) (*cellTable, error) {
	t := &cellTable{month: rep.Month, cells: rep.Cells}
	// The cells come in report order: grouping sets in ur.GroupingSets
	// order, each set's cells together.
	n := len(t.cells)
	i := 0
	for _, set := range ur.GroupingSets {
		start := i
		for i < n && t.cells[i].Set == set {
			i++
		}
		t.spans[set] = span{start, i}
	}
	if i != n {
		return nil, fmt.Errorf("report %s %s: cell %d out of report order", rep.Org, rep.Month, i)
	}
	if t.spans[0].len() != 1 {
		return nil, fmt.Errorf("report %s %s: %d organisation total cells, want 1", rep.Org, rep.Month, t.spans[0].len())
	}
	return t, nil
}

// shown is what the workbook may show of a cell.
type shown struct {
	present                                     bool           // the report has the cell: at least one event
	hidden                                      bool           // suppressed: the measures below are zero, not the cell's
	hiddenMeasures                              ur.MeasureMask // published, but these amounts hidden on their own (the total)
	subscribers, events, durationS, volumeBytes int64
	charge                                      ur.Amount
}

// shown returns cell i as published; i < 0 is a cell the report does
// not have (no usage).
func (t *cellTable) shown(i int) shown {
	if i < 0 {
		return shown{}
	}
	c := &t.cells[i]
	if c.Suppression.Hidden() {
		return shown{present: true, hidden: true}
	}
	s := shown{
		present:        true,
		hiddenMeasures: c.HiddenMeasures,
		subscribers:    c.Subscribers,
		events:         c.Events,
		durationS:      c.DurationS,
		volumeBytes:    c.VolumeBytes,
		charge:         c.Charge,
	}
	if s.hiddenMeasures.Has(ur.HideDuration) {
		s.durationS = 0
	}
	if s.hiddenMeasures.Has(ur.HideVolume) {
		s.volumeBytes = 0
	}
	return s
}

// hidden reports whether cell i is suppressed.
func (t *cellTable) hidden(i int) bool { return t.cells[i].Suppression.Hidden() }

// costCentre returns the cost centre of cell i as the report names it.
func (t *cellTable) costCentre(i int) string { return t.cells[i].CostCentreName() }

// hides reports whether the cell shows measure m as hidden: all of a
// hidden cell's, or an amount the total hides on its own.
func (s shown) hides(m measure) bool {
	switch m {
	case mMinutes:
		return s.hidden || s.hiddenMeasures.Has(ur.HideDuration)
	case mGB:
		return s.hidden || s.hiddenMeasures.Has(ur.HideVolume)
	}
	return s.hidden
}

// total returns the row of the organisation's total cell.
func (t *cellTable) total() int { return t.spans[0].start }

// byService returns the cells of set per service (-1: none). set keeps
// the service; keep, if not nil, picks the cells of one value of the
// set's other dimension.
func (t *cellTable) byService(set ur.GroupingSet, keep func(c *ur.Cell) bool) [ur.NumServices]int {
	cells := [ur.NumServices]int{-1, -1, -1, -1}
	s := t.spans[set]
	for i := s.start; i < s.end; i++ {
		if keep == nil || keep(&t.cells[i]) {
			cells[t.cells[i].Service] = i
		}
	}
	return cells
}

// byZone returns the ByZone cells per zone (-1: none).
func (t *cellTable) byZone() [ur.NumZones]int {
	cells := [ur.NumZones]int{-1, -1, -1}
	s := t.spans[ur.ByZone]
	for i := s.start; i < s.end; i++ {
		cells[t.cells[i].Zone] = i
	}
	return cells
}

// A measure is one number the workbook shows per cell.
type measure uint8

const (
	mSubscribers measure = iota
	mEvents
	mMinutes
	mGB
	mCharge
)

// name is the measure's column header.
func (m measure) name() string {
	return [...]string{"Subscriptions", "Events", "Minutes", "Data volume (GB)", "Charge (NOK)"}[m]
}

// value returns what a published cell shows for the measure: an int64 for
// counts and minutes, a float64 for GB and NOK.
func (m measure) value(s shown) any {
	switch m {
	case mSubscribers:
		return s.subscribers
	case mEvents:
		return s.events
	case mMinutes:
		return minutes(s.durationS)
	case mGB:
		return gigabytes(s.volumeBytes)
	default:
		return kroner(s.charge)
	}
}

// width returns the number of characters the formatted value takes.
func (m measure) width(s shown) int {
	switch m {
	case mSubscribers:
		return groupedLen(s.subscribers)
	case mEvents:
		return groupedLen(s.events)
	case mMinutes:
		return groupedLen(minutes(s.durationS))
	case mGB:
		return groupedLen(roundDiv(s.volumeBytes, 100_000_000)/10) + 2
	default:
		return groupedLen(roundDiv(int64(s.charge), ur.AmountScale/100)/100) + 3
	}
}

// minutes converts call seconds to whole minutes as the workbook shows
// them: seconds/60 rounded to the nearest minute, halves away from zero.
func minutes(seconds int64) int64 { return roundDiv(seconds, 60) }

// gigabytes converts bytes to decimal gigabytes (bytes/1e9), unrounded; the
// workbook's number format shows one decimal.
func gigabytes(bytes int64) float64 { return float64(bytes) / 1e9 }

// kroner converts an Amount to kroner; the number format shows two decimals.
func kroner(a ur.Amount) float64 { return float64(a) / ur.AmountScale }

// roundDiv returns n/d rounded to the nearest integer, halves away from zero.
func roundDiv(n, d int64) int64 {
	if n < 0 {
		return -((-n + d/2) / d)
	}
	return (n + d/2) / d
}

// groupedLen returns the length of n written with thousands separators.
func groupedLen(n int64) int {
	l := 0
	if n < 0 {
		l, n = 1, -n
	}
	digits := 1
	for ; n >= 10; n /= 10 {
		digits++
	}
	return l + digits + (digits-1)/3
}
