// Package aggregate turns the minimised records of one month into reports
// (ur.Report): per organisation, the 8 grouping sets of cost centre,
// service and roaming zone (SQL's GROUP BY CUBE), each cell with distinct
// subscribers, events, exact sums and, for the dominance rule, the two
// largest subscribers' amounts. The cells it makes are not yet suppressed:
// package suppress marks them in place, and the report goes on to export
// as it is.
//
// It never sees a subscriber number, only pseudonyms, and it never writes
// a pseudonym into a cell. An organisation whose sums overflow is refused
// alone (Builder.Report returns the error), never the month.
//
//	b := aggregate.NewBuilder(month)
//	err := store.ScanMonth(ctx, month, b.Add)
//	rep, err := b.Report(org) // or suppress.Cubes(b, cfg) for every organisation, suppressed
package aggregate
