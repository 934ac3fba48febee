package suppress

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	ur "usagereport"
)

// TestAttackGLPK is the attacker of report-v2, independent of this
// package's simplex and of Widen's shortcuts: for random small
// organisations it writes, per measure, the linear program of everything a
// reader knows, from the cells exactly as a report shows them (hidden
// cells without values, the total without the amounts it hides), and has
// GLPK's glpsol find the smallest and largest value of each hidden cell
// that must be protected (fewer than k subscribers, and the total's hidden
// amounts). The reader knows:
//   - every published cell: the sum of its finest cells;
//   - events, duration_s and volume_bytes are never negative, and every
//     finest cell in the file has at least one event;
//   - the structural zeros: seconds only on voice, bytes only on data;
//   - the organisation's total charge (published).
//
// A count's range must reach the true value + 1 and be 2 wide (report-v2),
// except where no pattern can do that without hiding the total's events:
// no more than the total less one event per other finest cell is asked of
// the upper end. Charges have no sign a reader can rely on, so a hidden
// charge has a range unless the equations pin it (Audit's question).
//
//	USAGEREPORT_ATTACK_CUBES=1000 go test -run TestAttackGLPK ./aggregate/
func TestAttackGLPK(t *testing.T) {
	glpsol, err := exec.LookPath("glpsol")
	if err != nil {
		t.Fatal("glpsol not found: install glpk-utils (scripts/ensure-glpk does)")
	}
	n := 40
	if s := os.Getenv("USAGEREPORT_ATTACK_CUBES"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("USAGEREPORT_ATTACK_CUBES=%q: want a positive number", s)
		}
	}
	cfg := Config{MinGroupSize: 5}
	a := &glpkAttacker{t: t, glpsol: glpsol, dir: t.TempDir()}
	checked, narrow, naive := 0, 0, 0
	for seed := range n {
		r := rand.New(rand.NewPCG(16, uint64(seed)))
		cells := cubeCells(t, smallOrgRecords(r, ur.Org(910_000_000+seed)))
		if cells[0].Subscribers < int64(cfg.MinGroupSize) {
			continue
		}
		truth := append([]ur.Cell(nil), cells...)
		// The attacker is not toothless: the pattern of v1 (no Widen,
		// the total's amounts shown) gives some ranges away.
		if seed < 10 {
			v1 := append([]ur.Cell(nil), cells...)
			Primary(v1, cfg)
			Dominance(v1, cfg)
			v1[0].HiddenMeasures = 0
			Secondary(v1)
			_, bad := a.attack(v1, truth, nil)
			naive += bad
		}
		if _, err := Suppress(cells, cfg); err != nil {
			t.Fatal(err)
		}
		c, bad := a.attack(cells, truth, func(h int, m ur.Measure, v int64, lo, hi float64) {
			if narrow < 10 {
				t.Errorf("seed %d: %s %s = %d: a reader narrows it to [%g, %g]", seed, CellName(&truth[h]), m, v, lo, hi)
			}
			narrow++
		})
		checked += c
		_ = bad
	}
	t.Logf("%d cubes, %d ranges solved by glpsol (%d programs), %d too narrow; the pattern of v1 left %d too narrow in the first 10", n, checked, a.n, narrow, naive)
	if naive == 0 {
		t.Error("the attacker found nothing in the patterns of v1 either: is it attacking?")
	}
}

// attack solves the range of every measure that must be protected in
// cells (suppressed; truth holds the values) and returns how many it
// solved and how many are too narrow, telling report of each.
func (a *glpkAttacker) attack(cells, truth []ur.Cell, report func(h int, m ur.Measure, v int64, lo, hi float64)) (checked, narrow int) {
	shown := ur.PublishedCells(cells) // what the file shows, no more
	l := newLayout(truth)
	for i := range cells {
		for _, m := range []ur.Measure{ur.Events, ur.Duration, ur.Volume} {
			small := cells[i].Suppression == ur.HiddenSmall
			if !(small || (i == 0 && hides(&cells[0], m))) {
				continue
			}
			v := m.Value(&truth[i])
			if v == 0 && m != ur.Events {
				continue // nothing to protect
			}
			lo, hi, bounded := a.rangeOf(shown, truth, i, m)
			checked++
			cap := float64(m.Value(&truth[0]))
			if i == 0 {
				cap = 1e300
			} else if m == ur.Events {
				cap -= float64(len(l.fine) - l.finestIn(i))
			}
			wantHi := min(float64(v)+1, cap)
			wantWidth := min(2, cap-float64(v)+1)
			if bounded && (hi < wantHi-1e-6 || hi-lo < wantWidth-1e-6) {
				narrow++
				if report != nil {
					report(i, m, v, lo, hi)
				}
			}
		}
	}
	return checked, narrow
}

type glpkAttacker struct {
	t      *testing.T
	glpsol string
	dir    string
	n      int
}

// rangeOf returns the smallest and largest value of measure m of cell h
// a reader can find; bounded is false when the largest is unbounded.
func (a *glpkAttacker) rangeOf(shown, truth []ur.Cell, h int, m ur.Measure) (lo, hi float64, bounded bool) {
	model := a.model(shown, truth, m)
	lo, okLo := a.solve("Minimize", shown, h, model)
	hi, okHi := a.solve("Maximize", shown, h, model)
	if !okLo {
		lo = -1e300
	}
	return lo, hi, okHi
}

// finestOf lists, per cell, the finest cells (indexes) it sums.
func finestOf(cells []ur.Cell, h int) []int {
	c := &cells[h]
	var out []int
	for i := range cells {
		f := &cells[i]
		if f.Set != ur.ByCostCentre|ur.ByService|ur.ByZone {
			continue
		}
		if (c.Set.Has(ur.ByCostCentre) && c.CostCentre != f.CostCentre) ||
			(c.Set.Has(ur.ByService) && c.Service != f.Service) ||
			(c.Set.Has(ur.ByZone) && c.Zone != f.Zone) {
			continue
		}
		out = append(out, i)
	}
	return out
}

func lpSum(idx []int) string {
	terms := make([]string, len(idx))
	for k, i := range idx {
		terms[k] = fmt.Sprintf("x%d", i)
	}
	return strings.Join(terms, " + ")
}

// model writes the constraints of measure m from what the file shows.
// truth is used only to leave out a structural zero the data breaks (a
// reader who relied on it would find the file inconsistent).
func (a *glpkAttacker) model(shown, truth []ur.Cell, m ur.Measure) string {
	var b strings.Builder
	b.WriteString("Subject To\n")
	bounds := "Bounds\n"
	for i := range shown {
		c := &shown[i]
		if c.Set == ur.ByCostCentre|ur.ByService|ur.ByZone {
			switch {
			case m == ur.Events:
				bounds += fmt.Sprintf(" x%d >= 1\n", i)
			case m == ur.Duration && c.Service != ur.Voice && truth[i].DurationS == 0,
				m == ur.Volume && c.Service != ur.Data && truth[i].VolumeBytes == 0:
				bounds += fmt.Sprintf(" x%d = 0\n", i)
			default:
				bounds += fmt.Sprintf(" x%d >= 0\n", i)
			}
		}
		if c.Suppression.Hidden() || (m == ur.Duration && c.HiddenMeasures.Has(ur.HideDuration)) ||
			(m == ur.Volume && c.HiddenMeasures.Has(ur.HideVolume)) {
			continue
		}
		fmt.Fprintf(&b, " c%d: %s = %d\n", i, lpSum(finestOf(shown, i)), m.Value(c))
	}
	// A constraint implied by the bounds, so that the section is never
	// empty (the total may hide the measure with every other cell hidden).
	fmt.Fprintf(&b, " any: %s >= -1\n", lpSum(finestOf(shown, 0)))
	return b.String() + bounds + "End\n"
}

var (
	glpkObjective = regexp.MustCompile(`Objective:\s+obj = (-?[0-9.e+]+)`)
	glpkStatus    = regexp.MustCompile(`Status:\s+(\S+)`)
)

func (a *glpkAttacker) solve(sense string, shown []ur.Cell, h int, model string) (float64, bool) {
	a.t.Helper()
	a.n++
	path := filepath.Join(a.dir, fmt.Sprintf("p%d.lp", a.n%8))
	text := sense + "\n obj: " + lpSum(finestOf(shown, h)) + "\n" + model
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		a.t.Fatal(err)
	}
	out, err := exec.Command(a.glpsol, "--lp", path, "-o", path+".out").CombinedOutput()
	if strings.Contains(string(out), "UNBOUNDED") || strings.Contains(string(out), "NO DUAL FEASIBLE") {
		return 0, false
	}
	if err != nil {
		a.t.Fatalf("glpsol: %v\n%s\n%.600s", err, out, text)
	}
	res, err := os.ReadFile(path + ".out")
	if err != nil {
		a.t.Fatal(err)
	}
	if st := glpkStatus.FindSubmatch(res); st == nil || string(st[1]) != "OPTIMAL" {
		a.t.Fatalf("glpsol finds the report inconsistent:\n%s\n%.2000s", out, text)
	}
	m := glpkObjective.FindSubmatch(res)
	if m == nil {
		a.t.Fatalf("glpsol output without an objective:\n%s", res)
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		a.t.Fatal(err)
	}
	return f, true
}
