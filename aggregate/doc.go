// Package aggregate turns the minimised records of one month into report
// cubes: per organisation, the 8 grouping sets of cost centre, service and
// roaming zone (SQL's GROUP BY CUBE), each cell with distinct subscribers,
// events and exact sums, held as an Apache Arrow record.
//
// It applies the suppression rules of report-v1 in Builder.Cubes: Primary
// (fewer than k subscribers), Dominance (the p%-rule on charge, minutes and
// bytes), Secondary (cost-ordered Gaussian elimination, so that no hidden
// cell is determined by the published ones), Widen (protection intervals,
// best effort), and finally the exact Audit, which refuses the report if a
// hidden cell can still be worked out. It never sees a subscriber number,
// only pseudonyms, and it never writes a pseudonym into a cell.
//
//	b := aggregate.NewBuilder(month)
//	err := store.ScanMonth(ctx, month, b.Add)
//	cubes, withheld, err := b.Cubes(aggregate.Config{MinGroupSize: 5})
package aggregate
