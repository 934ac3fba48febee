// Package aggregate turns the minimised records of one month into reports
// (ur.Report): per organisation, the 8 grouping sets of cost centre,
// service and roaming zone (SQL's GROUP BY CUBE), each cell with distinct
// subscribers, events and exact sums. Suppression marks those cells in
// place, and the report goes on to export as it is.
//
// It applies the suppression rules of report-v2 in Suppress: Primary
// (fewer than k subscribers), Dominance (the p%-rule on charge, minutes and
// bytes; on the organisation's total for minutes and bytes only, each
// hidden on its own), Secondary (cost-ordered Gaussian elimination, so that
// no hidden cell is determined by the published ones), Widen (protection
// intervals against the reader of report-v2), the give-back of secondary
// cells a reader pins anyway, and finally the exact Audit. A report the
// search cannot make pass the audit gets FallbackPattern, safe by
// construction and audited too; an organisation whose cube cannot be made
// at all (a sum that overflows) is refused alone (EachResult), never the
// month. It never sees a subscriber number, only pseudonyms, and it never
// writes a pseudonym into a cell.
//
//	b := aggregate.NewBuilder(month)
//	err := store.ScanMonth(ctx, month, b.Add)
//	cubes, withheld, err := b.Cubes(aggregate.Config{MinGroupSize: 5})
package aggregate
