package usagereport

import "fmt"

// Measure names an additive measure of a cell: the events and the three
// amounts. (Subscribers is a count of distinct subscribers, not a sum, and
// not a Measure.)
type Measure uint8

// The additive measures, in report order. The amounts, which the p%-rule
// looks at, are Duration, Volume and Charge.
const (
	Events Measure = iota
	Duration
	Volume
	Charge
	NumMeasures
)

func (m Measure) String() string {
	switch m {
	case Events:
		return "events"
	case Duration:
		return "duration_s"
	case Volume:
		return "volume_bytes"
	case Charge:
		return "charge"
	}
	return fmt.Sprintf("Measure(%d)", int(m))
}

// Value returns measure m of c, charge in units of 1/10000 NOK.
func (m Measure) Value(c *Cell) int64 {
	switch m {
	case Events:
		return c.Events
	case Duration:
		return c.DurationS
	case Volume:
		return c.VolumeBytes
	default:
		return int64(c.Charge)
	}
}

// Amount reports whether m is an amount: a measure the p%-rule looks at,
// with Top1 and Top2 kept for it.
func (m Measure) Amount() bool { return m >= Duration && m < NumMeasures }

// Top returns the largest and second largest single-subscriber amount of
// m in c. m must be an amount (Measure.Amount).
func (c *Cell) Top(m Measure) (top1, top2 int64) {
	return c.Top1[m-Duration], c.Top2[m-Duration]
}

// AddTop records v, one subscriber's amount of m in c, among the two
// largest. c.Subscribers counts the subscriber already.
func (c *Cell) AddTop(m Measure, v int64) {
	t1, t2 := &c.Top1[m-Duration], &c.Top2[m-Duration]
	switch {
	case c.Subscribers == 1:
		*t1 = v
	case c.Subscribers == 2 && v <= *t1:
		*t2 = v
	case v > *t1:
		*t2, *t1 = *t1, v
	case v > *t2:
		*t2 = v
	}
}
