// Package export writes report cubes to the files employers receive:
// Parquet as report-v1 specifies it (one row per cell, hidden cells with
// null measures), and reads them back for audits and tests.
//
// It writes only what a cube publishes: a hidden cell's measures never reach
// a file, and the internal suppression reason and dominance inputs are never
// written, so primary and secondary cells look alike.
package export
