// Command compare states our suppression's loss as a ratio to the optimum
// (package optimum) on generated, realistic reports: it generates usage with
// fixtures, aggregates and suppresses it as `usagereport report` does, and for
// every report with at most -max-hidden hidden cells solves the minimum-loss
// pattern twice with CBC, by cells and by charge. It also prints the share of
// cells hidden and the cost-centre figures of all reports. Run by scripts/optimum.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	ur "usagereport"
	"usagereport/internal/monthcsv"
	"usagereport/internal/optimum"
	"usagereport/suppress"
)

func main() {
	var c config
	c.data.Flags(flag.CommandLine)
	flag.IntVar(&c.maxHidden, "max-hidden", 60, "compare reports with at most this many hidden cells")
	flag.IntVar(&c.reports, "reports", 250, "compare at most this many reports")
	flag.DurationVar(&c.limit, "limit", 60*time.Second, "CBC's time limit per problem")
	flag.Parse()
	ctx := context.Background()
	if os.Getenv("OPTIMUM_DEBUG") != "" {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

type config struct {
	data               monthcsv.Generated
	maxHidden, reports int
	limit              time.Duration
}

// tally sums one objective over the compared reports.
type tally struct {
	ours, best float64 // sums of the loss
	ratioSum   float64 // sum of per-report ratios (reports with best > 0)
	ratioN     int
	worst      float64
	optimal    int // solved to optimality
	valid      int // whose optimal pattern passes our own audit and interval checks
}

func (t *tally) add(ours, best float64, optimal, valid bool) {
	t.ours += ours
	t.best += best
	if best > 0 {
		r := ours / best
		t.ratioSum += r
		t.ratioN++
		t.worst = math.Max(t.worst, r)
	}
	if optimal {
		t.optimal++
	}
	if valid {
		t.valid++
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	months, err := c.data.Months(ctx)
	if err != nil {
		return err
	}
	slog.Debug("aggregated", slog.Int("months", len(months)))
	cfg := suppress.Config{MinGroupSize: 5}.WithDefaults()
	var loss suppress.Loss
	var byCells, byCharge tally
	compared, skipped, infeasible := 0, 0, 0
	start := time.Now()
	for _, mo := range months {
		cubes, _, err := suppress.Cubes(mo.Builder, cfg)
		if err != nil {
			return err
		}
		for _, cube := range cubes {
			cells := cube.Cells
			l := suppress.LossOf(cells)
			loss.Add(l)
			if l.HiddenCells > c.maxHidden || compared >= c.reports {
				skipped++
				continue
			}
			p := optimum.NewProblem(cells, cfg)
			if len(p.Primary) == 0 {
				continue // nothing to protect: both losses are 0
			}
			// Both objectives are solved before either is counted: a report
			// CBC finds infeasible (a cost centre that is the whole
			// organisation, its total hidden with the volume the total
			// hides on its own, which the model cannot express) is left
			// out of both.
			var sols [2]optimum.Solution
			objs := []optimum.Objective{optimum.ByCells, optimum.ByCharge}
			failed := false
			for k, obj := range objs {
				sol, err := optimum.Solve(ctx, p, obj, c.limit)
				if err != nil && strings.Contains(err.Error(), "Infeasible") {
					slog.Debug("infeasible", slog.String("org", cube.Org.String()), slog.String("objective", obj.String()))
					failed = true
					break
				}
				if err != nil {
					return fmt.Errorf("%s %s: %w", cube.Org, cube.Month, err)
				}
				sols[k] = sol
			}
			if failed {
				infeasible++
				continue
			}
			for k, obj := range objs {
				sol := sols[k]
				opt := p.Apply(sol)
				valid := passes(opt, cfg)
				if why := failure(opt, cfg); why != "" {
					slog.Debug("optimal pattern fails our checks", slog.String("org", cube.Org.String()), slog.String("why", why))
				}
				ol := suppress.LossOf(opt)
				if obj == optimum.ByCells {
					byCells.add(float64(l.HiddenCells), float64(ol.HiddenCells), sol.Optimal, valid)
				} else {
					byCharge.add(float64(l.HiddenCharge), float64(ol.HiddenCharge), sol.Optimal, valid)
				}
			}
			compared++
			if compared%10 == 0 {
				fmt.Fprintf(os.Stderr, "compare: %d reports, %s; by cells %.0f/%.0f = %.3f (%d optimal, %d pass), by charge %.3f (%d optimal, %d pass)\n",
					compared, time.Since(start).Round(time.Second), byCells.ours, byCells.best, byCells.ours/math.Max(byCells.best, 1e-9),
					byCells.optimal, byCells.valid, byCharge.ours/math.Max(byCharge.best, 1e-9), byCharge.optimal, byCharge.valid)
			}
		}
	}
	fmt.Fprintf(out, "data: %s; k %d, p %g%%\n", c.data, cfg.MinGroupSize, cfg.DominanceP)
	fmt.Fprintf(out, "all reports: %d of %d cells hidden (%.1f%%), %.1f%% of the charge\n",
		loss.HiddenCells, loss.Cells, 100*loss.CellShare(), 100*loss.ChargeShare())
	fmt.Fprintf(out, "cost-centre totals: %d of %d published (%.1f%%), carrying %.1f%% of the cost centres' charge\n",
		loss.CostCentres.Published, loss.CostCentres.Centres, 100*loss.CostCentres.CentreShare(), 100*loss.CostCentres.ChargeShare())
	fmt.Fprintf(out, "compared: %d reports with at most %d hidden cells and a primary cell (%d larger or over the count left out, %d that CBC found infeasible), in %s\n",
		compared, c.maxHidden, skipped, infeasible, time.Since(start).Round(time.Second))
	for _, x := range []struct {
		name string
		t    tally
	}{{"cells", byCells}, {"charge", byCharge}} {
		t := x.t
		fmt.Fprintf(out, "by %-6s ours/optimum %.3f (sums), mean per report %.3f, worst %.3f; %d of %d solved to optimality, %d optimal patterns pass our own checks\n",
			x.name, t.ours/math.Max(t.best, 1e-9), t.ratioSum/math.Max(float64(t.ratioN), 1), t.worst, t.optimal, compared, t.valid)
	}
	return nil
}

// passes reports whether a pattern passes our own checks: no hidden cell
// determined (suppress.Audit), and every sensitive measure of a primary cell
// with a wide enough range (suppress.Intervals, suppress.Protected).
func passes(cells []ur.Cell, cfg suppress.Config) bool {
	return failure(cells, cfg) == ""
}

// failure says why a pattern fails our checks, or "".
func failure(cells []ur.Cell, cfg suppress.Config) string {
	if d := suppress.Audit(cells).Disclosed; len(d) > 0 {
		return fmt.Sprintf("%d hidden cells determined", len(d))
	}
	want := func(i int, m ur.Measure) bool { return suppress.Sensitive(&cells[i], m, cfg) }
	ivs, err := suppress.Intervals(cells, want)
	if err != nil {
		return err.Error()
	}
	narrow := map[ur.Measure]int{}
	for _, iv := range ivs {
		if !suppress.Protected(iv, iv.Measure.Value(&cells[iv.Cell]), iv.Measure.Value(&cells[0]), cfg) {
			narrow[iv.Measure]++
		}
	}
	if len(narrow) > 0 {
		return fmt.Sprintf("ranges too narrow: %v", narrow)
	}
	return ""
}
