package export

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	ur "usagereport"
)

// ReportFormat is the report format version written into every file.
const ReportFormat = "report-v2"

// Metadata keys of a report file.
const (
	MetaMinGroupSize = "min_group_size"
	MetaReportFormat = "report_format"
	MetaCreatedAt    = "created_at"
	// MetaCells and MetaHiddenCells give the information loss in cells.
	// The hidden share of the charge is not written: with the published
	// charges it would give the sum of the hidden ones.
	MetaCells       = "cells"
	MetaHiddenCells = "hidden_cells"
)

// Row is one cell of a report as it is stored in Parquet. Pointers are null:
// a dimension aggregated over, or a measure of a hidden cell.
type Row struct {
	OrgNumber string `parquet:"org_number"`
	Month     int32  `parquet:"month,date"` // days since 1970-01-01 of the month's first day
	// Grouping names the level of the cell (report-v2): "total", "cost_centre", ...,
	// "cost_centre+service+roaming_zone" (ur.GroupingSet.Name). Summing one grouping
	// never counts a charge twice.
	Grouping    string  `parquet:"grouping"`
	CostCentre  *string `parquet:"cost_centre,optional"`
	Service     *string `parquet:"service,optional"`
	RoamingZone *string `parquet:"roaming_zone,optional"`
	Subscribers *int64  `parquet:"subscribers,optional"`
	Events      *int64  `parquet:"events,optional"`
	DurationS   *int64  `parquet:"duration_s,optional"`
	VolumeBytes *int64  `parquet:"volume_bytes,optional"`
	Charge      *int64  `parquet:"charge,optional,decimal(4:18)"` // units of 1/10000 NOK
	Suppressed  bool    `parquet:"suppressed"`
}

// Rows turns a report's cells into Parquet rows, in the report's order.
// Hidden cells get null measures, and so does an amount the total hides
// on its own.
func Rows(rep *ur.Report) []Row {
	org := rep.Org.String()
	day := rep.Month.EpochDay()
	rows := make([]Row, len(rep.Cells))
	for i := range rep.Cells {
		c := &rep.Cells[i]
		row := Row{
			OrgNumber:  org,
			Month:      day,
			Grouping:   c.Set.Name(),
			Suppressed: c.Suppression.Hidden(),
		}
		if c.Set.Has(ur.ByCostCentre) {
			row.CostCentre = ptr(c.CostCentreName())
		}
		if c.Set.Has(ur.ByService) {
			row.Service = ptr(c.Service.String())
		}
		if c.Set.Has(ur.ByZone) {
			row.RoamingZone = ptr(c.Zone.String())
		}
		if !row.Suppressed {
			row.Subscribers, row.Events, row.Charge = ptr(c.Subscribers), ptr(c.Events), ptr(int64(c.Charge))
			if !c.HiddenMeasures.Has(ur.HideDuration) {
				row.DurationS = ptr(c.DurationS)
			}
			if !c.HiddenMeasures.Has(ur.HideVolume) {
				row.VolumeBytes = ptr(c.VolumeBytes)
			}
		}
		rows[i] = row
	}
	return rows
}

func ptr[T any](v T) *T { return &v }

// zstdCodec compresses every Parquet file's pages. It is one value for
// the process because it keeps a pool of encoders: a codec made per file
// made a new encoder (its tables, about a megabyte) for every file, which
// cost more than compressing a small organisation's report. The encoder
// starts each page afresh, so the bytes written are the same.
var zstdCodec = &zstd.Codec{Level: zstd.SpeedDefault}

// WriteParquet writes the report as a report-v2 Parquet file: zstd, data page
// v1 for older readers, and the key/value metadata of the format.
func WriteParquet(w io.Writer, c *ur.Report, createdAt time.Time) error {
	return WriteParquetEdition(w, c, Edition{CreatedAt: createdAt, Version: 1})
}

// WriteParquetEdition is WriteParquet for one publication of the month:
// its time, version and late events go into the metadata.
func WriteParquetEdition(w io.Writer, c *ur.Report, ed Edition) error {
	createdAt := ed.CreatedAt
	rows := Rows(c)
	hidden := 0
	for i := range rows {
		if rows[i].Suppressed {
			hidden++
		}
	}
	pw := parquet.NewGenericWriter[Row](w,
		parquet.Compression(zstdCodec),
		parquet.DataPageVersion(1),
		parquet.CreatedBy("usagereport", ReportFormat, ""),
		parquet.KeyValueMetadata(MetaMinGroupSize, strconv.Itoa(c.MinGroupSize)),
		parquet.KeyValueMetadata(MetaReportFormat, ReportFormat),
		parquet.KeyValueMetadata(MetaCreatedAt, createdAt.UTC().Format(time.RFC3339)),
		parquet.KeyValueMetadata(MetaCells, strconv.Itoa(len(rows))),
		parquet.KeyValueMetadata(MetaHiddenCells, strconv.Itoa(hidden)),
		parquet.KeyValueMetadata(MetaPublicationVersion, strconv.Itoa(max(ed.Version, 1))),
		parquet.KeyValueMetadata(MetaLateEvents, strconv.FormatInt(ed.LateEvents, 10)),
	)
	if _, err := pw.Write(rows); err != nil {
		return fmt.Errorf("write parquet rows of %s %s: %w", c.Org, c.Month, err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("close parquet writer of %s %s: %w", c.Org, c.Month, err)
	}
	return nil
}

// Report is a Parquet report read back.
type Report struct {
	Rows     []Row
	Metadata map[string]string
}

// ReadParquet reads a report file written by WriteParquet.
func ReadParquet(r io.ReaderAt, size int64) (*Report, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("open parquet report: %w", err)
	}
	rep := &Report{Metadata: make(map[string]string)}
	for _, kv := range f.Metadata().KeyValueMetadata {
		rep.Metadata[kv.Key] = kv.Value
	}
	pr := parquet.NewGenericReader[Row](f)
	defer pr.Close()
	rep.Rows = make([]Row, f.NumRows())
	n, err := pr.Read(rep.Rows)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read parquet report rows: %w", err)
	}
	if int64(n) != f.NumRows() {
		return nil, fmt.Errorf("read parquet report rows: got %d of %d", n, f.NumRows())
	}
	return rep, nil
}

// ErrNullMeasure reports a published row with a null measure where the
// format allows none: only the organisation's total may hide duration_s
// and volume_bytes on their own.
var ErrNullMeasure = errors.New("a published cell with a null measure")

// Measures fills c's measures from a published row: c.Set must be set.
// A null duration_s or volume_bytes of the organisation's total becomes
// c.HiddenMeasures; any other null measure is ErrNullMeasure.
func (r *Row) Measures(c *ur.Cell) error {
	if r.Subscribers == nil || r.Events == nil || r.Charge == nil {
		return ErrNullMeasure
	}
	c.Subscribers, c.Events, c.Charge = *r.Subscribers, *r.Events, ur.Amount(*r.Charge)
	c.DurationS, c.VolumeBytes, c.HiddenMeasures = 0, 0, 0
	if r.DurationS != nil {
		c.DurationS = *r.DurationS
	} else {
		c.HiddenMeasures |= ur.HideDuration
	}
	if r.VolumeBytes != nil {
		c.VolumeBytes = *r.VolumeBytes
	} else {
		c.HiddenMeasures |= ur.HideVolume
	}
	if c.HiddenMeasures != 0 && c.Set != 0 {
		return ErrNullMeasure
	}
	return nil
}
