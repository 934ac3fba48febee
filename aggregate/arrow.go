package aggregate

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	ur "usagereport"
)

// Column indexes of the cell table.
const (
	ColGroupingSet = iota
	ColCostCentre
	ColService
	ColZone
	ColSubscribers
	ColEvents
	ColDuration
	ColVolume
	ColCharge
	ColSuppression
	ColTop1Charge // Top1/Top2 per dominance measure follow, in measure order
)

// ChargeType is the Arrow type of the charge column, DECIMAL(18,4).
var ChargeType = &arrow.Decimal128Type{Precision: 18, Scale: 4}

// Schema is the Arrow schema of a cube's cell table. The dimensions are null
// where the grouping set aggregates over them; duration_s and volume_bytes
// are null where a published cell (the organisation's total) hides them on
// their own (ur.Cell.HiddenMeasures): the value never travels further. suppression holds the internal
// reason code (0 = published) and the top columns the dominance inputs; the
// export writes neither.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "grouping_set", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "cost_centre", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "service", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "roaming_zone", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "subscribers", Type: arrow.PrimitiveTypes.Int64},
	{Name: "events", Type: arrow.PrimitiveTypes.Int64},
	{Name: "duration_s", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "volume_bytes", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "charge", Type: ChargeType},
	{Name: "suppression", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "top1_charge", Type: arrow.PrimitiveTypes.Int64},
	{Name: "top2_charge", Type: arrow.PrimitiveTypes.Int64},
	{Name: "top1_duration_s", Type: arrow.PrimitiveTypes.Int64},
	{Name: "top2_duration_s", Type: arrow.PrimitiveTypes.Int64},
	{Name: "top1_volume_bytes", Type: arrow.PrimitiveTypes.Int64},
	{Name: "top2_volume_bytes", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// Cube is one organisation's report cells for one month.
type Cube struct {
	Org          ur.Org
	Month        ur.Month
	MinGroupSize int
	// NarrowRanges counts the (cell, measure) pairs of the hidden small
	// and dominated cells whose range a reader can narrow more than the
	// rule allows (see Widen) when the cube was suppressed: Widen's best
	// effort fell short there; -1 where its linear programs could not be
	// solved. Zero for a cube read back from a file.
	NarrowRanges int
	// Loss is the information loss of the suppression, and Disclosed
	// the cells the exact audit found determined (always 0: a cube that
	// fails the audit is not made). Zero for a cube read back from a file.
	Loss      Loss
	Disclosed int
	// CostCentreLoss is the share of the cost centres' charge their
	// published totals carry (see CostCentreLoss). Zero for a cube read
	// back from a file.
	CostCentreLoss CostCentreLoss
	// Fallback is set when the report got the fallback pattern instead of
	// the search's (see Suppress and FallbackReason).
	Fallback bool
	// GivenBack is what Suppress published again: secondary cells a
	// reader could work out exactly.
	GivenBack GivenBack
	// Record holds the cells in report order, with Schema.
	Record arrow.RecordBatch
}

// NewCube builds a cube from cells in report order.
func NewCube(org ur.Org, m ur.Month, k int, cells []ur.Cell) *Cube {
	return &Cube{Org: org, Month: m, MinGroupSize: k, Record: newRecord(cells)}
}

func newRecord(cells []ur.Cell) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, Schema)
	defer b.Release()
	// Room for every row, exactly: a builder left to grow (or asked to
	// Reserve) rounds up to a power of two, and a report of 100,000 cost
	// centres has over half a million rows.
	for _, f := range b.Fields() {
		f.Resize(len(cells))
	}
	names := 0
	for i := range cells {
		if cells[i].Set.Has(ur.ByCostCentre) {
			names += len(cells[i].CostCentreName())
		}
	}
	b.Field(ColCostCentre).(*array.StringBuilder).ReserveData(names)
	for i := range cells {
		c := &cells[i]
		b.Field(ColGroupingSet).(*array.Uint8Builder).Append(uint8(c.Set))
		appendDim(b.Field(ColCostCentre), c.Set.Has(ur.ByCostCentre), c.CostCentreName())
		appendDim(b.Field(ColService), c.Set.Has(ur.ByService), c.Service.String())
		appendDim(b.Field(ColZone), c.Set.Has(ur.ByZone), c.Zone.String())
		b.Field(ColSubscribers).(*array.Int64Builder).Append(c.Subscribers)
		b.Field(ColEvents).(*array.Int64Builder).Append(c.Events)
		appendMeasure(b.Field(ColDuration), c.HiddenMeasures.Has(ur.HideDuration), c.DurationS)
		appendMeasure(b.Field(ColVolume), c.HiddenMeasures.Has(ur.HideVolume), c.VolumeBytes)
		b.Field(ColCharge).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(c.Charge)))
		b.Field(ColSuppression).(*array.Uint8Builder).Append(uint8(c.Suppression))
		for m := 0; m < ur.NumDominanceMeasures; m++ {
			b.Field(ColTop1Charge + 2*m).(*array.Int64Builder).Append(c.Top1[m])
			b.Field(ColTop1Charge + 2*m + 1).(*array.Int64Builder).Append(c.Top2[m])
		}
	}
	return b.NewRecordBatch()
}

func appendMeasure(b array.Builder, hidden bool, v int64) {
	ib := b.(*array.Int64Builder)
	if hidden {
		ib.AppendNull()
	} else {
		ib.Append(v)
	}
}

func appendDim(b array.Builder, has bool, v string) {
	sb := b.(*array.StringBuilder)
	if has {
		sb.Append(v)
	} else {
		sb.AppendNull()
	}
}

// Cells decodes the cell table back into values, for the steps that work
// cell by cell (secondary suppression, the workbook).
func (c *Cube) Cells() ([]ur.Cell, error) {
	r := c.Record
	if !r.Schema().Equal(Schema) {
		return nil, fmt.Errorf("cube %s %s: unexpected schema", c.Org, c.Month)
	}
	n := int(r.NumRows())
	sets := r.Column(ColGroupingSet).(*array.Uint8)
	ccs := r.Column(ColCostCentre).(*array.String)
	svcs := r.Column(ColService).(*array.String)
	zones := r.Column(ColZone).(*array.String)
	i64 := func(col int) *array.Int64 { return r.Column(col).(*array.Int64) }
	charge := r.Column(ColCharge).(*array.Decimal128)
	supp := r.Column(ColSuppression).(*array.Uint8)
	cells := make([]ur.Cell, n)
	for i := range n {
		cell := &cells[i]
		cell.Set = ur.GroupingSet(sets.Value(i))
		if cell.Set.Has(ur.ByCostCentre) {
			cell.CostCentre = ccs.Value(i)
			if cell.CostCentre == ur.Unassigned {
				cell.CostCentre = ""
			}
		}
		if cell.Set.Has(ur.ByService) {
			s, ok := ur.ParseService([]byte(svcs.Value(i)))
			if !ok {
				return nil, fmt.Errorf("cube %s %s row %d: bad service", c.Org, c.Month, i)
			}
			cell.Service = s
		}
		if cell.Set.Has(ur.ByZone) {
			z, ok := ur.ParseZoneName(zones.Value(i))
			if !ok {
				return nil, fmt.Errorf("cube %s %s row %d: bad zone", c.Org, c.Month, i)
			}
			cell.Zone = z
		}
		cell.Subscribers = i64(ColSubscribers).Value(i)
		cell.Events = i64(ColEvents).Value(i)
		cell.DurationS = i64(ColDuration).Value(i)
		cell.VolumeBytes = i64(ColVolume).Value(i)
		if i64(ColDuration).IsNull(i) {
			cell.DurationS, cell.HiddenMeasures = 0, cell.HiddenMeasures|ur.HideDuration
		}
		if i64(ColVolume).IsNull(i) {
			cell.VolumeBytes, cell.HiddenMeasures = 0, cell.HiddenMeasures|ur.HideVolume
		}
		cell.Charge = ur.Amount(charge.Value(i).LowBits())
		cell.Suppression = ur.Suppression(supp.Value(i))
		for m := 0; m < ur.NumDominanceMeasures; m++ {
			cell.Top1[m] = i64(ColTop1Charge + 2*m).Value(i)
			cell.Top2[m] = i64(ColTop1Charge + 2*m + 1).Value(i)
		}
	}
	return cells, nil
}

// SetCells replaces the cell table, as a suppression step does after
// marking more cells hidden. The cells must be in report order.
func (c *Cube) SetCells(cells []ur.Cell) {
	old := c.Record
	c.Record = newRecord(cells)
	if old != nil {
		old.Release()
	}
}

// Release frees the cell table.
func (c *Cube) Release() {
	if c.Record != nil {
		c.Record.Release()
		c.Record = nil
	}
}
