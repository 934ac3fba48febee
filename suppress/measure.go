package suppress

import (
	"fmt"

	ur "usagereport"
)

// Measure names an additive measure of a cell.
type Measure int

// The additive measures, in report order.
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
func (m Measure) Value(c *ur.Cell) int64 {
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
