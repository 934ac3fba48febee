// Package optimum computes, for benchmarks and tests only, the minimum-loss
// suppression pattern of one report by integer programming, as tau-Argus's
// "optimal" and sdcTable's "OPT" methods do, so that the loss of our heuristic
// (aggregate's Secondary and Widen) can be stated as a ratio to it.
//
// The model is the compact formulation of Fischetti and Salazar: a binary x_i per
// cell (hidden or not), and for every primary cell, every protected measure and
// both directions, a deviation y of the whole table that keeps every "total = sum of
// its parts" equation, is zero on published cells, stays within what the reader
// knows of each hidden cell (events at least 1; seconds, bytes and, in a report
// without a credit, charge at least 0; none above the organisation's total; seconds
// only on voice, bytes only on data), and moves the primary cell far enough: events
// up by 1 and across a range of 2, amounts by p% either way (suppress.Sensitive and
// suppress.Protected, the requirements our heuristic meets). It minimises the
// hidden cells or the hidden |charge|. It leaves out the rule that a secondary cell
// must not itself be determined, and the organisation's total hides no measure on
// its own: the model is a relaxation, so its optimum is a lower bound on the true
// one, and a ratio to it never flatters us. Two scalings keep the program well
// conditioned and make it, strictly, a little tighter than a relaxation: a
// deviation moves no cell by more than 100 units of the requirement, and a charge
// that nothing bounds (a report with a credit) is protected when a deviation moves
// it by a tenth of the largest move. A requirement no pattern can meet (a cell that
// is most of the total) is met as far as it can be, by a penalised slack, before
// the loss is minimised.
// Compare checks whether each optimal pattern also passes our own audit and
// interval checks, and reports how many do (for those, the bound is the optimum).
//
// The solver is CBC (Debian's coinor-cbc, installed by scripts/ensure-cbc), run
// as a program on an LP file. It is never used at run time: the product does
// not import this package.
package optimum
