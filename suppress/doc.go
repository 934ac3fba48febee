// Package suppress applies the suppression rules of report-v2 to the
// cells package aggregate builds, in place, and audits the result.
//
// Suppress runs them in order: Primary (fewer than k subscribers),
// Dominance (the p%-rule on charge, minutes and bytes; on the
// organisation's total for minutes and bytes only, each hidden on its
// own), Secondary (cost-ordered Gaussian elimination, so that no hidden
// cell is determined by the published ones), Widen (protection intervals
// against the reader of report-v2), the give-back of secondary cells a
// reader pins anyway, and finally the exact Audit. A report the search
// cannot make pass the audit gets FallbackPattern, safe by construction
// and audited too. EachResult runs it over a month's organisations on
// every core; an organisation whose report cannot be made is refused
// alone, never the month.
//
// It never un-hides a cell the rules hide, never lets a hidden cell be
// worked out exactly from the published ones (the audit refuses the
// report otherwise), and never sees a subscriber number.
//
//	b := aggregate.NewBuilder(month)
//	err := store.ScanMonth(ctx, month, b.Add)
//	cubes, withheld, err := suppress.Cubes(b, suppress.Config{MinGroupSize: 5})
package suppress
