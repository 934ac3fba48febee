// Package export writes a report (ur.Report) to the files employers
// receive, reading its cells as they are: Parquet as docs/report.md
// specifies it (report-v2: one row per cell, hidden cells with null
// measures) and the Excel workbook (Summary, Cost centres, Roaming,
// About), both written atomically. It reads a published Parquet file back
// (ReadParquet, ReadPublished) for audits and tests. It imports only the
// root package and file libraries.
//
// It writes only what a report publishes: a hidden cell's measures never
// reach a file, the internal suppression reason and dominance inputs are
// never written, so primary and secondary cells look alike, and no value
// in the workbook is computed from a hidden one.
//
//	err := export.WriteFileAtomic(path, func(w io.Writer) error {
//		return export.WriteParquet(w, rep, time.Now())
//	})
package export
