package usagereport

import "context"

// Batch is a run of records of one month in columnar form, as a store
// reads them back. Rows refer by index into the dictionaries Orgs,
// Subscribers and CostCentres. Dictionaries are shared, and only grow,
// across the batches of one Source; a consumer may cache what it derived
// from an index for as long as Source stays the same.
type Batch struct {
	Month  Month
	Source int // changes when the dictionaries start anew

	Orgs        []Org
	Subscribers []Pseudonym
	CostCentres []string

	Org, Subscriber, CostCentre []uint32
	Service                     []Service
	Zone                        []Zone
	DurationS, VolumeBytes      []int64
	Charge                      []Amount
}

// Len returns the number of rows.
func (b *Batch) Len() int { return len(b.Org) }

// Record fills r with row i.
func (b *Batch) Record(i int, r *Record) {
	*r = Record{
		Org:         b.Orgs[b.Org[i]],
		Month:       b.Month,
		Subscriber:  b.Subscribers[b.Subscriber[i]],
		CostCentre:  b.CostCentres[b.CostCentre[i]],
		Service:     b.Service[i],
		Zone:        b.Zone[i],
		DurationS:   b.DurationS[i],
		VolumeBytes: b.VolumeBytes[i],
		Charge:      b.Charge[i],
	}
}

// BatchScanner is a store that reads a month in batches, the fast path of
// the report. The batches and their slices are valid only during fn.
type BatchScanner interface {
	ScanMonthBatches(ctx context.Context, m Month, fn func(*Batch) error) error
}
