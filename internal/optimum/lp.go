package optimum

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"

	ur "usagereport"
)

// WriteLP writes the problem as an integer program in the CPLEX LP format that CBC
// and GLPK read: binaries x<i> (cell i hidden) and, per requirement r, deviations
// u_<r>_<i> (and d_<r>_<i> for events) of every cell.
func (p *Problem) WriteLP(w io.Writer, obj Objective) error {
	bw := bufio.NewWriter(w)
	line := &lineWriter{w: bw}
	fmt.Fprintf(bw, "\\ suppression of %d cells, %d primary, objective %s\nMinimize\n obj:", len(p.Cells), len(p.Primary), obj)
	for i := range p.Cells {
		line.term(weight(p, i, obj), fmt.Sprintf("x%d", i))
	}
	reqs := p.requirements()
	pen := penalty(p, obj)
	for _, r := range reqs {
		line.term(pen, "s_"+r.name)
	}
	line.end()
	fmt.Fprintln(bw, "Subject To")
	for _, r := range reqs {
		flows := []string{"u"}
		if r.events || r.amount {
			flows = append(flows, "d")
		}
		for _, f := range flows {
			y := func(i int) string { return fmt.Sprintf("%s_%s_%d", f, r.name, i) }
			for k, eq := range p.Equations {
				fmt.Fprintf(bw, " q_%s_%s_%d:", f, r.name, k)
				line.term(1, y(eq[0]))
				for _, part := range eq[1:] {
					line.term(-1, y(part))
				}
				line.endWith(" = 0")
			}
			for i := range p.Cells {
				// Zero where published, within the reader's bounds where hidden.
				fmt.Fprintf(bw, " h_%s_%s_%d: %s %s x%d <= 0\n", f, r.name, i, y(i), signed(-r.hi[i]), i)
				fmt.Fprintf(bw, " l_%s_%s_%d: %s %s x%d >= 0\n", f, r.name, i, y(i), signed(-r.lo[i]), i)
			}
		}
		// s_<r> is what the pattern falls short of the requirement by (see penalty).
		fmt.Fprintf(bw, " up_%s: u_%s_%d + s_%s >= %s\n", r.name, r.name, r.cell, r.name, num(r.up))
		if r.events {
			fmt.Fprintf(bw, " span_%s: u_%s_%d - d_%s_%d + s_%s >= %s\n", r.name, r.name, r.cell, r.name, r.cell, r.name, num(r.span))
		}
		if r.amount {
			fmt.Fprintf(bw, " down_%s: d_%s_%d - s_%s <= -%s\n", r.name, r.name, r.cell, r.name, num(r.down))
		}
	}
	fmt.Fprintln(bw, "Bounds")
	for _, r := range reqs {
		for i := range p.Cells {
			fmt.Fprintf(bw, " u_%s_%d free\n", r.name, i)
			if r.events || r.amount {
				fmt.Fprintf(bw, " d_%s_%d free\n", r.name, i)
			}
		}
	}
	for _, r := range reqs {
		fmt.Fprintf(bw, " 0 <= s_%s <= 2\n", r.name)
	}
	fmt.Fprintln(bw, " x0 = 0") // the organisation's total is always published
	for _, s := range p.Primary {
		fmt.Fprintf(bw, " x%d = 1\n", s)
	}
	fmt.Fprintln(bw, "Binaries")
	for i := range p.Cells {
		line.name(fmt.Sprintf("x%d", i))
	}
	line.end()
	fmt.Fprintln(bw, "End")
	return bw.Flush()
}

// penalty is the cost of falling short of a requirement by one unit: more than
// hiding every cell, so that the optimum meets every requirement it can and only
// then minimises the loss. Some requirements cannot be met by any pattern of the
// model (the organisation's total is published, while our reports may hide its
// seconds and bytes on their own); our heuristic leaves those narrow too.
func penalty(p *Problem, obj Objective) float64 {
	var sum float64
	for i := range p.Cells {
		sum += weight(p, i, obj)
	}
	return sum + 1
}

// weight is cell i's cost in the objective: 1, or its |charge| in NOK (plus a
// thousandth, so that among patterns of equal charge the one with fewer cells wins).
func weight(p *Problem, i int, obj Objective) float64 {
	switch obj {
	case ByCharge:
		return math.Abs(nok(p.Cells[i].Charge)) + 0.001
	case ByCostCentre:
		if p.Cells[i].Set == ur.ByCostCentre {
			return math.Abs(nok(p.Cells[i].Charge)) + 0.001
		}
		return 0.001
	}
	return 1
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 12, 64) }

func signed(v float64) string {
	if v < 0 {
		return "- " + num(-v)
	}
	return "+ " + num(v)
}

// lineWriter writes terms a few to a line: LP readers limit line length.
type lineWriter struct {
	w *bufio.Writer
	n int
}

func (l *lineWriter) term(coef float64, name string) {
	l.wrap()
	fmt.Fprintf(l.w, " %s %s", signed(coef), name)
}

func (l *lineWriter) name(name string) {
	l.wrap()
	fmt.Fprintf(l.w, " %s", name)
}

func (l *lineWriter) wrap() {
	if l.n > 0 && l.n%8 == 0 {
		fmt.Fprint(l.w, "\n ")
	}
	l.n++
}

func (l *lineWriter) end() { l.endWith("") }

func (l *lineWriter) endWith(s string) {
	fmt.Fprintln(l.w, s)
	l.n = 0
}
