// Command cover states where the cost-centre totals' charge goes (issue 18,
// item 3): per month of a CSV export (or of generated realistic usage), the
// share of the cost centres' charge that the published cost-centre totals
// carry, the share hidden by each cause, and the best share any valid
// pattern could reach (a ceiling), so that the figures can be reproduced.
//
// Causes: a primary rule (k-rule or p%-rule: no pattern publishes those);
// suppress.Secondary; suppress.Widen (with the Secondary runs it makes);
// Suppress's other tries (the subscriber order, the fallback pattern, the
// cells swapCostCentres hides in a total's place); and what was published
// again after Widen (swapCostCentres, republish). The stages are replayed with the exported
// functions in Suppress's order, and the replay is checked against the
// product's own result.
//
// Ceilings, each a lower bound on the charge any valid pattern hides:
// optimum.CostCentreLowerBound (cost-centre totals alone) for every report,
// and the exact program of package optimum by cost-centre charge for reports
// with at most -exact-max-hidden hidden cells. Run by scripts/cost-centre-cover.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	ur "usagereport"
	"usagereport/aggregate"
	"usagereport/internal/monthcsv"
	"usagereport/internal/optimum"
	"usagereport/suppress"
)

func main() {
	var c config
	c.data.Flags(flag.CommandLine)
	flag.IntVar(&c.exactMax, "exact-max-hidden", 60, "solve the exact program by cost-centre charge for reports with at most this many hidden cells (0: none)")
	flag.DurationVar(&c.limit, "limit", 30*time.Second, "CBC's time limit per problem")
	flag.BoolVar(&c.verbose, "v", false, "one line per report whose cover falls short of its ceiling")
	flag.Uint64Var(&c.org, "org", 0, "print this organisation's cells, stage by stage")
	flag.Parse()
	if err := run(context.Background(), c, flag.Args(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cover:", err)
		os.Exit(1)
	}
}

type config struct {
	data     monthcsv.Generated
	exactMax int
	limit    time.Duration
	verbose  bool
	org      uint64
}

// tally is one month's cost-centre charge by what became of it, in units of
// 1/10000 NOK (|charge| summed).
type tally struct {
	reports, mismatched      int
	charge                   ur.Amount
	published                ur.Amount
	primary                  ur.Amount
	secondary, widen, others ur.Amount // still hidden at the end, by the stage that hid it
	givenBack                ur.Amount // hidden by Secondary or Widen, published again
	keptBig                  ur.Amount // of secondary+widen: in reports republish does not try
	ccBound                  ur.Amount // least the cost-centre relaxation hides besides primary
	exactBound               ur.Amount // the best lower bound per report (exact where solved)
	exactSolved, exactTried  int
	exactBetter              ur.Amount // how much the exact program raised the bound
	cellsHidden, cells       int
}

func pct(a, b ur.Amount) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

func run(ctx context.Context, c config, files []string, out io.Writer) error {
	cfg := suppress.Config{MinGroupSize: 5}.WithDefaults()
	fmt.Fprintf(out, "k %d, p %g%%; shares of the cost centres' charge (|charge| of the cost-centre totals)\n", cfg.MinGroupSize, cfg.DominanceP)
	if len(files) == 0 {
		months, err := c.data.Months(ctx)
		if err != nil {
			return err
		}
		return each(ctx, c, c.data.String(), months, cfg, out)
	}
	for _, name := range files {
		months, err := readFile(name)
		if err != nil {
			return err
		}
		if err := each(ctx, c, name, months, cfg, out); err != nil {
			return err
		}
	}
	return nil
}

// readFile reads the export in the file name into one builder per month.
func readFile(name string) ([]monthcsv.Month, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return monthcsv.Read(bufio.NewReaderSize(f, 1<<20), name)
}

// each replays and prints the months of the export called name.
func each(ctx context.Context, c config, name string, months []monthcsv.Month, cfg suppress.Config, out io.Writer) error {
	for _, mo := range months {
		t, err := month(ctx, c, mo.Builder, mo.Month, cfg, out)
		if err != nil {
			return err
		}
		print(out, name, mo.Month, t)
	}
	return nil
}

func print(out io.Writer, name string, m ur.Month, t tally) {
	defer fmt.Fprintln(out)
	fmt.Fprintf(out, "%s, %s: %d reports, %.1f%% of cells hidden\n", name, m, t.reports, 100*float64(t.cellsHidden)/float64(max(t.cells, 1)))
	fmt.Fprintf(out, "  published                         %6.2f%%\n", pct(t.published, t.charge))
	fmt.Fprintf(out, "  hidden by a primary rule          %6.2f%%  (so at most %.2f%% can be published)\n", pct(t.primary, t.charge), 100-pct(t.primary, t.charge))
	fmt.Fprintf(out, "  hidden by Secondary               %6.2f%%\n", pct(t.secondary, t.charge))
	fmt.Fprintf(out, "  hidden by Widen                   %6.2f%%\n", pct(t.widen, t.charge))
	fmt.Fprintf(out, "  hidden by Suppress's other tries  %6.2f%%  (the subscriber order, the fallback pattern, swapCostCentres' trades)\n", pct(t.others, t.charge))
	fmt.Fprintf(out, "    of Secondary+Widen, in reports republish does not try (over %d hidden finest cells): %.2f%%\n", suppress.MaxIntervalUnknowns, pct(t.keptBig, t.charge))
	fmt.Fprintf(out, "  published again                   %6.2f%%  (hidden by Secondary or Widen; by swapCostCentres or republish)\n", pct(t.givenBack, t.charge))
	fmt.Fprintf(out, "  ceiling, cost-centre totals alone %6.2f%%\n", 100-pct(t.primary+t.ccBound, t.charge))
	fmt.Fprintf(out, "  ceiling, with the exact program   %6.2f%%  (%d of %d reports solved to optimality, raising the bound by %.2f points)\n",
		100-pct(t.primary+t.exactBound, t.charge), t.exactSolved, t.exactTried, pct(t.exactBetter, t.charge))
	if t.mismatched > 0 {
		fmt.Fprintf(out, "  WARNING: the replay of %d reports differs from Suppress's pattern (their loss counted as other tries)\n", t.mismatched)
	}
}

func month(ctx context.Context, c config, b *aggregate.Builder, m ur.Month, cfg suppress.Config, out io.Writer) (tally, error) {
	var t tally
	cubes, _, err := suppress.Cubes(b, cfg)
	if err != nil {
		return t, err
	}
	for _, cube := range cubes {
		final, org := cube.Cells, cube.Org
		if err := report(ctx, c, org, final, cfg, &t, out); err != nil {
			return t, fmt.Errorf("%s %s: %w", org, m, err)
		}
	}
	return t, nil
}

// report adds one report to t: final is the product's pattern.
func report(ctx context.Context, c config, org ur.Org, final []ur.Cell, cfg suppress.Config, t *tally, out io.Writer) error {
	t.reports++
	l := suppress.LossOf(final)
	t.cellsHidden += l.HiddenCells
	t.cells += len(final)
	// The replay: every rule again, stage by stage.
	cells := make([]ur.Cell, len(final))
	copy(cells, final)
	for i := range cells {
		cells[i].Suppression, cells[i].HiddenMeasures = ur.Published, 0
	}
	suppress.Primary(cells, cfg)
	suppress.Dominance(cells, cfg)
	primary := snapshot(cells)
	suppress.Secondary(cells)
	afterSecondary := snapshot(cells)
	if _, err := suppress.Widen(cells, cfg); err != nil {
		return err
	}
	afterWiden := snapshot(cells)
	check := make([]ur.Cell, len(final))
	copy(check, cells)
	for i := range check {
		check[i].Suppression = primary[i]
	}
	// The replay's primary cells must be the product's.
	mismatch := false
	for i := range final {
		if primary[i] != ur.Published && primary[i] != final[i].Suppression {
			mismatch = true
		}
	}
	if mismatch {
		t.mismatched++
	}
	if uint64(org) == c.org {
		dump(out, final, primary, afterSecondary, afterWiden)
	}
	big := hiddenFinest(final) > suppress.MaxIntervalUnknowns
	var rep, repPrimary ur.Amount
	for i := range final {
		f := &final[i]
		if f.Set != ur.ByCostCentre {
			continue
		}
		ch := abs(f.Charge)
		t.charge += ch
		rep += ch
		hidden := f.Suppression.Hidden()
		switch {
		case primary[i] != ur.Published:
			t.primary += ch
			repPrimary += ch
		case !hidden:
			t.published += ch
			if afterWiden[i].Hidden() {
				t.givenBack += ch
			}
		case mismatch:
			t.others += ch
		case afterSecondary[i].Hidden():
			t.secondary += ch
		case afterWiden[i].Hidden():
			t.widen += ch
		default:
			t.others += ch
		}
		if hidden && primary[i] == ur.Published && afterWiden[i].Hidden() && big {
			t.keptBig += ch
		}
	}
	// Ceilings.
	bound, err := optimum.CostCentreLowerBound(ctx, check, cfg, c.limit)
	if err != nil {
		return err
	}
	lb := ur.Amount(0)
	if bound.Optimal {
		lb = bound.Secondary
	}
	t.ccBound += lb
	best := lb
	// The exact program takes the organisation's total as showing every
	// measure: where the total hides one, it asks more than the rules and
	// is no bound.
	if c.exactMax > 0 && l.HiddenCells <= c.exactMax && final[0].HiddenMeasures == 0 {
		p := optimum.NewProblem(final, cfg)
		if len(p.Primary) > 0 {
			t.exactTried++
			sol, err := optimum.Solve(ctx, p, optimum.ByCostCentre, c.limit)
			if err != nil {
				return err
			}
			if sol.Optimal {
				t.exactSolved++
				opt := p.Apply(sol)
				var h ur.Amount
				for i := range opt {
					if opt[i].Set == ur.ByCostCentre && opt[i].Suppression == ur.HiddenSecondary {
						h += abs(opt[i].Charge)
					}
				}
				if h > best {
					t.exactBetter += h - best
					best = h
				}
			}
		}
	}
	t.exactBound += best
	if c.verbose {
		var hid ur.Amount
		for i := range final {
			if final[i].Set == ur.ByCostCentre && final[i].Suppression == ur.HiddenSecondary {
				hid += abs(final[i].Charge)
			}
		}
		if hid > best {
			fmt.Fprintf(out, "%s: %d cells, %d hidden finest; cost-centre charge %.0f NOK, primary %.0f, secondary ours %.0f, bound %.0f\n",
				org, len(final), hiddenFinest(final), float64(rep)/1e4, float64(repPrimary)/1e4, float64(hid)/1e4, float64(best)/1e4)
		}
	}
	return nil
}

func snapshot(cells []ur.Cell) []ur.Suppression {
	s := make([]ur.Suppression, len(cells))
	for i := range cells {
		s[i] = cells[i].Suppression
	}
	return s
}

func hiddenFinest(cells []ur.Cell) int {
	n := 0
	for i := range cells {
		if cells[i].Set == ur.ByCostCentre|ur.ByService|ur.ByZone && cells[i].Suppression.Hidden() {
			n++
		}
	}
	return n
}

func abs(a ur.Amount) ur.Amount {
	if a < 0 {
		return -a
	}
	return a
}

// dump prints a report's cells: each with its key, subscribers, events and
// charge, and what each stage made of it (P primary, S Secondary, W Widen,
// - published; the last column is the product's final pattern).
func dump(out io.Writer, final []ur.Cell, stages ...[]ur.Suppression) {
	mark := func(s ur.Suppression, was bool) string {
		switch {
		case s == ur.HiddenSmall || s == ur.HiddenDominance:
			return "P"
		case s == ur.HiddenSecondary && !was:
			return "S"
		case s == ur.HiddenSecondary:
			return "h"
		}
		return "-"
	}
	for i := range final {
		c := &final[i]
		fmt.Fprintf(out, "%4d set %d %-12.12q %d %d subs %4d ev %6d ch %10.2f  ", i, c.Set, c.CostCentre, c.Service, c.Zone, c.Subscribers, c.Events, float64(c.Charge)/1e4)
		for k, st := range stages {
			was := k > 0 && stages[k-1][i].Hidden()
			fmt.Fprint(out, mark(st[i], was))
		}
		fmt.Fprintf(out, " %s\n", mark(c.Suppression, true))
	}
}
