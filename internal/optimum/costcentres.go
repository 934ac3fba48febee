package optimum

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ur "usagereport"
	"usagereport/suppress"
)

// CostCentreBound is the least cost-centre charge any pattern that keeps the
// protection rules must hide in one report, by a relaxation small enough to
// solve exactly for every report: a reader who sees only the organisation's
// total and the published cost-centre totals, and knows that amounts are never
// negative (charges only in a report without a credit). The finer cells are
// left out; they only add equations, which narrow ranges, so every valid
// pattern's cost-centre totals are a valid pattern here, and the optimum here
// hides at most what the optimum of the whole report hides.
//
// In that relaxation the hidden cost-centre totals H sum to what the total
// and the published totals leave, so a primary total h ranges over [0, the sum
// of H] of each amount: its upper end reaches p% above its value (or the
// organisation's total) exactly when the other hidden totals hold p% of it, or
// all of the total but h's; its lower end reaches 0 anyway. Its events range
// is wide enough as soon as another total is hidden, which not being
// determined asks for too. So: hide, at least cost, non-primary cost-centre
// totals until, for every primary total and every amount that needs a range
// (suppress.Sensitive) whose organisation total is published, the other
// hidden totals hold enough of it.
type CostCentreBound struct {
	Charge    ur.Amount // sum of |charge| over the cost-centre totals
	Primary   ur.Amount // the same over those a primary rule hides
	Secondary ur.Amount // the least the relaxation must hide besides
	Optimal   bool      // false: CBC stopped at its time limit (Secondary is then no bound)
}

// CostCentreLowerBound solves the relaxation of CostCentreBound for one report
// whose cells carry their primary suppression (suppress.Primary and
// suppress.Dominance; secondary cells are ignored), with CBC.
func CostCentreLowerBound(ctx context.Context, cells []ur.Cell, cfg suppress.Config, limit time.Duration) (CostCentreBound, error) {
	cfg = cfg.WithDefaults()
	var b CostCentreBound
	var prim, free []int // primary and other cost-centre totals
	credit := false
	for i := range cells {
		c := &cells[i]
		credit = credit || c.Charge < 0
		if c.Set != ur.ByCostCentre {
			continue
		}
		b.Charge += abs(c.Charge)
		switch c.Suppression {
		case ur.HiddenSmall, ur.HiddenDominance:
			prim = append(prim, i)
			b.Primary += abs(c.Charge)
		default:
			free = append(free, i)
		}
	}
	b.Optimal = true
	if len(prim) == 0 || len(free) == 0 || len(cells) == 0 {
		return b, nil
	}
	total := &cells[0]
	pct := cfg.DominanceP / 100
	measures := []ur.Measure{ur.Duration, ur.Volume}
	if !credit {
		measures = append(measures, ur.Charge)
	}
	var rows []ccRow
	if len(prim) == 1 {
		// One hidden total would be determined by the organisation's.
		coef := make([]float64, len(free))
		for k := range coef {
			coef[k] = 1
		}
		rows = append(rows, ccRow{name: "other", coef: coef, rhs: 1})
	}
	for _, h := range prim {
		for _, m := range measures {
			v := float64(m.Value(&cells[h]))
			if v == 0 || !suppress.Sensitive(&cells[h], m, cfg) || total.HiddenMeasures.Has(hideMask(m)) {
				continue
			}
			need := math.Min(pct*v, float64(m.Value(total))-v)
			for _, j := range prim {
				if j != h {
					need -= float64(m.Value(&cells[j]))
				}
			}
			coef := make([]float64, len(free))
			all := 0.0
			for k, j := range free {
				coef[k] = float64(m.Value(&cells[j]))
				all += coef[k]
			}
			// A requirement no pattern meets (rounding at the total) is
			// met as far as it can be: hiding every other total.
			need = math.Min(need, all)
			if need <= 1e-9*math.Max(1, v) {
				continue
			}
			// Scaled to the requirement, so that CBC's tolerances are
			// relative; a little slack for the float sums.
			for k := range coef {
				coef[k] /= need
			}
			rows = append(rows, ccRow{name: fmt.Sprintf("r%d_%s", h, m), coef: coef, rhs: 1 - 1e-9})
		}
	}
	if len(rows) == 0 {
		return b, nil
	}
	hidden, optimal, err := solveCover(ctx, cells, free, rows, limit)
	if err != nil {
		return CostCentreBound{}, fmt.Errorf("cost-centre bound of %d cost centres: %w", len(prim)+len(free), err)
	}
	b.Secondary, b.Optimal = hidden, optimal
	return b, nil
}

type ccRow struct {
	name string
	coef []float64 // per free total
	rhs  float64
}

func hideMask(m ur.Measure) ur.MeasureMask {
	switch m {
	case ur.Duration:
		return ur.HideDuration
	case ur.Volume:
		return ur.HideVolume
	}
	return 0
}

func abs(a ur.Amount) ur.Amount {
	if a < 0 {
		return -a
	}
	return a
}

// solveCover minimises the |charge| of the free totals hidden subject to rows
// (sum of coef over the hidden ones at least rhs), with CBC, and returns it.
func solveCover(ctx context.Context, cells []ur.Cell, free []int, rows []ccRow, limit time.Duration) (ur.Amount, bool, error) {
	cbc, err := exec.LookPath("cbc")
	if err != nil {
		return 0, false, ErrNoSolver
	}
	dir, err := os.MkdirTemp("", "ccbound")
	if err != nil {
		return 0, false, err
	}
	defer os.RemoveAll(dir)
	lp, out := filepath.Join(dir, "model.lp"), filepath.Join(dir, "solution.txt")
	f, err := os.Create(lp)
	if err != nil {
		return 0, false, err
	}
	if err := writeCover(f, cells, free, rows); err != nil {
		f.Close()
		return 0, false, err
	}
	if err := f.Close(); err != nil {
		return 0, false, err
	}
	secs := strconv.Itoa(max(1, int(limit.Seconds())))
	cmd := exec.CommandContext(ctx, cbc, lp, "sec", secs, "threads", "1", "solve", "solu", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return 0, false, fmt.Errorf("cbc: %w\n%s", err, tail(msg))
	}
	sol, err := readSolution(out, len(cells))
	if err != nil {
		return 0, false, err
	}
	var hidden ur.Amount
	for _, j := range free {
		if sol.Hidden[j] {
			hidden += abs(cells[j].Charge)
		}
	}
	return hidden, sol.Optimal, nil
}

// writeCover writes solveCover's program in the LP format, one binary x<i>
// per free total i (its cell index, as readSolution reads it).
func writeCover(w io.Writer, cells []ur.Cell, free []int, rows []ccRow) error {
	bw := bufio.NewWriter(w)
	line := &lineWriter{w: bw}
	fmt.Fprintln(bw, "Minimize\n obj:")
	for _, j := range free {
		// NOK, plus a thousandth so that a total of no charge is not hidden for nothing.
		line.term(math.Abs(nok(cells[j].Charge))+0.001, fmt.Sprintf("x%d", j))
	}
	line.end()
	fmt.Fprintln(bw, "Subject To")
	for _, r := range rows {
		fmt.Fprintf(bw, " %s:", strings.ReplaceAll(r.name, " ", "_"))
		any := false
		for k, j := range free {
			if r.coef[k] != 0 {
				line.term(r.coef[k], fmt.Sprintf("x%d", j))
				any = true
			}
		}
		if !any {
			line.term(0, fmt.Sprintf("x%d", free[0]))
		}
		line.endWith(" >= " + num(r.rhs))
	}
	fmt.Fprintln(bw, "Binaries")
	for _, j := range free {
		line.name(fmt.Sprintf("x%d", j))
	}
	line.end()
	fmt.Fprintln(bw, "End")
	return bw.Flush()
}
