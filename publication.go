package usagereport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrPublished is returned by Publisher.Publish when that version of the
// organisation's month is already recorded: another run published it first.
var ErrPublished = errors.New("this version of the month is already published")

// ErrNotPublished is returned by Publisher.Publication when there is no
// such record.
var ErrNotPublished = errors.New("no publication record")

// Publication is one version of an organisation's published month: the
// cells exactly as published and what they were made with. Once recorded it
// never changes; producing the month again writes these cells.
type Publication struct {
	Org          Org
	Month        Month
	Version      int // 1, or 2, 3, … for a deliberate correction
	MinGroupSize int // k the cells were suppressed with
	DominanceP   float64
	Format       string // report format version, such as "report-v2"
	PublishedAt  time.Time
	// Covered is the highest ingest ledger sequence the cells counted: a
	// record of this organisation for this month, or one rolled forward
	// into it, counts here if its file's sequence is at most Covered, and
	// in a later month otherwise. A later version covers more.
	Covered int64
	// LateEvents is how many events from earlier, already published months
	// the cells include.
	LateEvents int64
	Reason     string   // why a version after the first was made
	Digest     [32]byte // SHA-256 of EncodeCells(Cells)
	// Cells are the published cells in report order. A hidden cell has
	// Suppression HiddenSecondary and no measures; Top1 and Top2 are never
	// kept. Listings leave Cells nil.
	Cells []Cell
}

// Publisher keeps publication records and the ingest ledger's sequence
// that decides which month a record counts in. Both stores implement it.
type Publisher interface {
	// LedgerSeq returns the highest sequence number of a committed file.
	// Every file committed later gets a higher one, so a read of the
	// files up to it sees the same records whenever it runs.
	LedgerSeq(ctx context.Context) (int64, error)
	// ScanMonthSeq calls fn for every record of month m whose file's
	// sequence is above after and at most upTo, with that sequence.
	ScanMonthSeq(ctx context.Context, m Month, after, upTo int64, fn func(r *Record, seq int64) error) error
	// Publications lists every version of every publication record,
	// without cells, by organisation, month and version.
	Publications(ctx context.Context) ([]Publication, error)
	// Publication returns one version with its cells, or ErrNotPublished.
	Publication(ctx context.Context, org Org, m Month, version int) (Publication, error)
	// Publish records p (Digest and Cells set). If that version of the
	// organisation's month exists it records nothing and returns
	// ErrPublished.
	Publish(ctx context.Context, p *Publication) error
	// DeletePublications deletes every publication record of org, and
	// returns how many versions it deleted.
	DeletePublications(ctx context.Context, org Org) (int, error)
	// DeletePublicationsBefore deletes the records of every month before m.
	DeletePublicationsBefore(ctx context.Context, m Month) (int, error)
}

// BatchScannerUpTo is a store that reads a month in batches, only the
// records of files with a ledger sequence at most upTo.
type BatchScannerUpTo interface {
	ScanMonthBatchesUpTo(ctx context.Context, m Month, upTo int64, fn func(*Batch) error) error
}

// cellsMagic starts the canonical encoding of published cells.
const cellsMagic = "usagereport cells v1\n"

// EncodeCells writes cells as published, canonically: the same published
// cells give the same bytes. Only what a report shows goes in: the
// dimensions, whether the cell is hidden and, when it is not, its five
// measures. A published cell that hides amounts on its own (the total,
// HiddenMeasures) says which in the hidden byte (2*mask) and writes them
// as zero; without such a cell the encoding is that of report-v1's cells.
func EncodeCells(cells []Cell) []byte {
	b := make([]byte, 0, len(cellsMagic)+len(cells)*24)
	b = append(b, cellsMagic...)
	b = binary.AppendUvarint(b, uint64(len(cells)))
	for i := range cells {
		c := &cells[i]
		hidden := byte(c.HiddenMeasures&(HideDuration|HideVolume)) << 1
		if c.Suppression.Hidden() {
			hidden = 1
		}
		b = append(b, byte(c.Set), hidden, byte(c.Service), byte(c.Zone))
		b = binary.AppendUvarint(b, uint64(len(c.CostCentre)))
		b = append(b, c.CostCentre...)
		if hidden != 1 {
			dur, vol := c.DurationS, c.VolumeBytes
			if c.HiddenMeasures.Has(HideDuration) {
				dur = 0
			}
			if c.HiddenMeasures.Has(HideVolume) {
				vol = 0
			}
			for _, v := range [...]int64{c.Subscribers, c.Events, dur, vol, int64(c.Charge)} {
				b = binary.AppendVarint(b, v)
			}
		}
	}
	return b
}

// DigestCells returns the SHA-256 of EncodeCells(cells).
func DigestCells(cells []Cell) [32]byte { return sha256.Sum256(EncodeCells(cells)) }

// DecodeCheckedCells is DecodeCells for the cells of a publication record
// whose Digest is digest: cells that do not match it are refused, not read.
func DecodeCheckedCells(enc []byte, digest [32]byte) ([]Cell, error) {
	if Digest(enc) != digest {
		return nil, errors.New("the cells do not match their digest")
	}
	return DecodeCells(enc)
}

// DecodeCells reads what EncodeCells wrote.
func DecodeCells(b []byte) ([]Cell, error) {
	rest, ok := bytes.CutPrefix(b, []byte(cellsMagic))
	if !ok {
		return nil, errors.New("decode cells: not an encoding of published cells")
	}
	r := bytes.NewReader(rest)
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(len(rest)) {
		return nil, errors.New("decode cells: bad cell count")
	}
	cells := make([]Cell, n)
	for i := range cells {
		c := &cells[i]
		var head [4]byte
		if _, err := r.Read(head[:]); err != nil {
			return nil, fmt.Errorf("decode cells: cell %d: %w", i, err)
		}
		c.Set, c.Service, c.Zone = GroupingSet(head[0]), Service(head[2]), Zone(head[3])
		// head[1]: 0 published, 1 hidden, 2*mask the total hiding amounts.
		if c.Set >= NumGroupingSets || c.Service >= NumServices || c.Zone >= NumZones || head[1] > 6 ||
			(head[1] > 1 && (head[1]&1 != 0 || c.Set != 0)) {
			return nil, fmt.Errorf("decode cells: cell %d: bad dimensions", i)
		}
		l, err := binary.ReadUvarint(r)
		if err != nil || l > uint64(r.Len()) {
			return nil, fmt.Errorf("decode cells: cell %d: bad cost centre", i)
		}
		cc := make([]byte, l)
		r.Read(cc)
		c.CostCentre = string(cc)
		if head[1] == 1 {
			c.Suppression = HiddenSecondary
			continue
		}
		var v [5]int64
		for j := range v {
			if v[j], err = binary.ReadVarint(r); err != nil {
				return nil, fmt.Errorf("decode cells: cell %d: %w", i, err)
			}
		}
		c.Subscribers, c.Events, c.DurationS, c.VolumeBytes, c.Charge = v[0], v[1], v[2], v[3], Amount(v[4])
		c.HiddenMeasures = MeasureMask(head[1] >> 1)
	}
	if r.Len() != 0 {
		return nil, errors.New("decode cells: trailing bytes")
	}
	// One encoding per cells: a digest then names one publication.
	if !bytes.Equal(EncodeCells(cells), b) {
		return nil, errors.New("decode cells: not the canonical encoding")
	}
	return cells, nil
}

// PublishedCells returns cells as a report shows them: a hidden cell keeps
// its dimensions only, with one look whatever hid it, an amount the total
// hides on its own is zero, and no cell keeps its top contributions.
func PublishedCells(cells []Cell) []Cell {
	out := make([]Cell, len(cells))
	for i, c := range cells {
		p := Cell{Set: c.Set, CostCentre: c.CostCentre, Service: c.Service, Zone: c.Zone}
		if c.Suppression.Hidden() {
			p.Suppression = HiddenSecondary
		} else {
			p.Subscribers, p.Events, p.DurationS, p.VolumeBytes, p.Charge = c.Subscribers, c.Events, c.DurationS, c.VolumeBytes, c.Charge
			p.HiddenMeasures = c.HiddenMeasures
			p.ClearHiddenMeasures()
		}
		out[i] = p
	}
	return out
}

// MonthOwner says, by the publication records, which month a record of an
// organisation counts in. A record of month m from a file with ledger
// sequence seq counts in the first month from m on that is not published
// for the organisation, or whose first version covered seq: late records
// roll forward into the next month still open, and only once.
type MonthOwner struct {
	covered map[orgMonth]int64 // first version's Covered, per published month
}

type orgMonth struct {
	org Org
	m   Month
}

// NewMonthOwner indexes the publication records pubs (any versions).
func NewMonthOwner(pubs []Publication) *MonthOwner {
	o := &MonthOwner{covered: make(map[orgMonth]int64)}
	for _, p := range pubs {
		// The latest version decides. A correction is only made of an
		// organisation's latest published month, and takes the records
		// that waited for its next month: no later month had counted
		// them.
		k := orgMonth{p.Org, p.Month}
		if c, ok := o.covered[k]; !ok || p.Covered > c {
			o.covered[k] = p.Covered
		}
	}
	return o
}

// Published reports whether org's month m has a publication record.
func (o *MonthOwner) Published(org Org, m Month) bool {
	_, ok := o.covered[orgMonth{org, m}]
	return ok
}

// Covered returns the ledger sequence org's month m covered, and whether it
// is published.
func (o *MonthOwner) Covered(org Org, m Month) (int64, bool) {
	c, ok := o.covered[orgMonth{org, m}]
	return c, ok
}

// Owner returns the month a record of org and month m from a file with
// ledger sequence seq counts in.
func (o *MonthOwner) Owner(org Org, m Month, seq int64) Month {
	for {
		c, ok := o.covered[orgMonth{org, m}]
		if !ok || seq <= c {
			return m
		}
		m++
	}
}

// Digest returns the SHA-256 of an encoding of cells.
func Digest(enc []byte) [32]byte { return sha256.Sum256(enc) }
