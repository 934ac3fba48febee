package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
	"usagereport/export"
)

// TestRepublishJointLP corrects October twice: after a late file of one
// subscriber (the attack of issue 16) and after one of six new ones. Then
// a linear program over the versions, as a reader holding every version
// solves it (GLPK's glpsol), checks every hidden cell of every version:
// none is determined (events and charges over versions 1 and 2, events
// over all three), none narrower than one event either side where its own
// version left it wider, and the first version's hidden cells keep
// exactly the ranges that version alone leaves them. The same LP finds
// the attack in a second version made without joint protection.
func TestRepublishJointLP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs some 3,000 linear programs")
	}
	glpsol, err := exec.LookPath("glpsol")
	if err != nil {
		t.Fatal("glpsol not found: install glpk-utils (scripts/ensure-glpk does)")
	}
	got := map[string][]*export.Report{}
	bothStores(t, func(t *testing.T, store string) {
		dir := t.TempDir()
		samples, _ := filepath.Glob("../../fixtures/sample/*")
		mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
		org := mustOrg(t, lateOrg)
		oct := ur.MonthOf(2026, 10)
		var versions []*export.Report
		report := func(v int) {
			out := filepath.Join(dir, fmt.Sprintf("v%d", v))
			mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", out, "--org", lateOrg)
			rep := readReport(t, export.Path(out, org, oct, "parquet"))
			if got := rep.Metadata[export.MetaPublicationVersion]; got != strconv.Itoa(v) {
				t.Fatalf("the file is version %s, want %d", got, v)
			}
			versions = append(versions, rep)
		}
		mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", filepath.Join(dir, "all"))
		report(1)

		r := run(t, nil, "report", "--store", store, "--month", "2026-10", "--out", dir, "--republish")
		if r.code != ExitUsage {
			t.Errorf("--republish without --reason: exit %d", r.code)
		}
		mustRun(t, "ingest", "--store", store, lateFile(t, dir, "late.csv", 4))
		r = mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", filepath.Join(dir, "fix"), "--org", lateOrg,
			"--republish", "--reason", "late roaming of October")
		if !strings.Contains(r.stdout, lateOrg+" 2026-10: version 2 published (late roaming of October), suppressed jointly") {
			t.Errorf("republish:\n%s", r.stdout)
		}
		report(2)

		var b strings.Builder
		b.WriteString("org_number,subscriber,cost_centre,start_time,service,duration_s,country,charge\n")
		for i := range 6 {
			fmt.Fprintf(&b, "%s,+4790000%03d,Salg,2026-10-1%dT09:00:00+02:00,voice,%d,SE,%d.5\n", lateOrg, i, i, 60+i*7, i+1)
		}
		mustRun(t, "ingest", "--store", store, writeFile(t, dir, "six.csv", b.String()))
		mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", filepath.Join(dir, "fix"), "--org", lateOrg,
			"--republish", "--reason", "six late subscribers")
		report(3)

		// November is published now: October can no longer be corrected,
		// and November did not count what October's versions took.
		r = mustRun(t, "report", "--store", store, "--month", "2026-11", "--out", filepath.Join(dir, "nov"), "--org", lateOrg)
		if strings.Contains(r.stdout, "events from earlier months") {
			t.Errorf("November counted records that October's corrections took:\n%s", r.stdout)
		}
		r = run(t, nil, "report", "--store", store, "--month", "2026-10", "--out", dir, "--org", lateOrg, "--republish", "--reason", "again")
		if r.code != ExitUsage || !strings.Contains(r.stderr, "only the latest published month (2026-11) can be corrected") {
			t.Errorf("a correction after November: exit %d\n%s", r.code, r.stderr)
		}

		got[filepath.Base(filepath.Dir(t.Name()+"/x"))] = versions
	})
	emb, pg := got["embedded"], got["postgres"]
	if len(emb) != 3 || len(pg) != 3 {
		t.Fatalf("versions: embedded %d, postgres %d", len(emb), len(pg))
	}
	for v := range emb {
		if diff := cmp.Diff(emb[v].Rows, pg[v].Rows); diff != "" {
			t.Errorf("version %d (-embedded +postgres):\n%s", v+1, diff)
		}
	}
	lp := &jointLP{t: t, glpsol: glpsol, dir: t.TempDir(), versions: emb[:2]}
	for _, m := range []string{"events", "charge"} {
		for _, v := range lp.violations(m) {
			t.Error(v)
		}
	}
	lp.versions = emb
	for _, v := range lp.violations("events") {
		t.Error(v)
	}

	// The same LP sees what a second version without joint protection
	// gives away: October computed afresh with k = 3 (the second attack of
	// issue 16, now refused), beside the first version.
	dir := t.TempDir()
	samples, _ := filepath.Glob("../../fixtures/sample/*")
	store := filepath.Join(dir, "store")
	mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
	mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", dir, "--org", lateOrg, "--min-group", "3")
	naive := readReport(t, export.Path(dir, mustOrg(t, lateOrg), ur.MonthOf(2026, 10), "parquet"))
	attack := &jointLP{t: t, glpsol: glpsol, dir: t.TempDir(), versions: []*export.Report{emb[0], naive}}
	found := attack.violations("events")
	if len(found) == 0 {
		t.Error("the LP finds nothing in a second version without joint protection: it would not see an attack")
	}
	t.Logf("without joint protection: %d violations, such as %v", len(found), found[:min(2, len(found))])
}

// jointLP is a reader's linear program over every version of a month:
// per version the finest cells as unknowns, each shown cell the sum of
// its finest cells, and since records only add, each finest cell at least
// what it was in the version before.
type jointLP struct {
	t        *testing.T
	glpsol   string
	dir      string
	versions []*export.Report
	n        int
}

func dims(r *export.Row) [3]*string { return [3]*string{r.CostCentre, r.Service, r.RoamingZone} }

func finest(r *export.Row) bool {
	return r.CostCentre != nil && r.Service != nil && r.RoamingZone != nil
}

// covers reports whether row a sums finest row f.
func covers(a, f *export.Row) bool {
	da, df := dims(a), dims(f)
	for i := range da {
		if da[i] != nil && *da[i] != *df[i] {
			return false
		}
	}
	return true
}

func value(r *export.Row, measure string) int64 {
	switch measure {
	case "events":
		return *r.Events
	case "charge":
		return *r.Charge
	}
	return *r.DurationS
}

// sum writes the sum of version v's finest cells under row r.
func (lp *jointLP) sum(v int, r *export.Row) string { return lp.sumOf("x", v, r) }

// sumOf writes the sum of version v's finest unknowns named prefix under
// row r.
func (lp *jointLP) sumOf(prefix string, v int, r *export.Row) string {
	var terms []string
	for i := range lp.versions[v].Rows {
		f := &lp.versions[v].Rows[i]
		if finest(f) && covers(r, f) {
			terms = append(terms, fmt.Sprintf("%s%d_%d", prefix, v, i))
		}
	}
	return strings.Join(terms, "\n + ")
}

// bigM bounds a finest cell's change of charge per added event, in units
// of 1/10000 NOK: a change of charge needs a change of events.
const bigM = 1e9

// model writes the constraints of versions from..to. Events are unknowns
// x (at least 1 in a cell that exists), never fewer in a later version.
// Charges are unknowns x with no bound (credits), beside the events as
// unknowns e: a finest cell's charge changes between versions only where
// its events do, which is what pins a late record's charge when the rest
// of the month stays the same.
func (lp *jointLP) model(measure string, from, to int) string {
	var b strings.Builder
	b.WriteString("Subject To\n")
	bounds := "Bounds\n"
	ev := "x" // the events' unknowns
	if measure == "charge" {
		ev = "e"
	}
	for v := from; v <= to; v++ {
		rows := lp.versions[v].Rows
		index := map[[3]string]int{}
		for i := range rows {
			r := &rows[i]
			if finest(r) {
				index[[3]string{*r.CostCentre, *r.Service, *r.RoamingZone}] = i
				switch measure {
				case "charge":
					bounds += fmt.Sprintf(" x%d_%d free\n e%d_%d >= 1\n", v, i, v, i)
				case "events":
					bounds += fmt.Sprintf(" x%d_%d >= 1\n", v, i)
				default:
					bounds += fmt.Sprintf(" x%d_%d >= 0\n", v, i)
				}
			}
			if !r.Suppressed {
				fmt.Fprintf(&b, " c%d_%d: %s = %d\n", v, i, lp.sum(v, r), value(r, measure))
				if measure == "charge" {
					fmt.Fprintf(&b, " ce%d_%d: %s = %d\n", v, i, lp.sumOf("e", v, r), *r.Events)
				}
			}
		}
		if v == from {
			continue
		}
		for i := range lp.versions[v-1].Rows {
			r := &lp.versions[v-1].Rows[i]
			if !finest(r) {
				continue
			}
			j, ok := index[[3]string{*r.CostCentre, *r.Service, *r.RoamingZone}]
			if !ok {
				lp.t.Fatalf("version %d lost a finest cell of version %d", v+1, v)
			}
			fmt.Fprintf(&b, " m%d_%d: %s%d_%d - %s%d_%d >= 0\n", v, i, ev, v, j, ev, v-1, i)
			if measure == "charge" {
				fmt.Fprintf(&b, " u%d_%d: x%d_%d - x%d_%d - %g e%d_%d + %g e%d_%d <= 0\n", v, i, v, j, v-1, i, bigM, v, j, bigM, v-1, i)
				fmt.Fprintf(&b, " l%d_%d: x%d_%d - x%d_%d + %g e%d_%d - %g e%d_%d >= 0\n", v, i, v, j, v-1, i, bigM, v, j, bigM, v-1, i)
			}
		}
	}
	return b.String() + bounds + "End\n"
}

var (
	objectiveRE = regexp.MustCompile(`Objective:\s+obj = (-?[0-9.e+]+)`)
	statusRE    = regexp.MustCompile(`Status:\s+(\S+)`)
)

// solve returns the optimum of sense (Minimize or Maximize) of version v's
// cell r under the constraints of versions from..to; ok is false when it
// is unbounded.
func (lp *jointLP) solve(measure, sense string, v int, r *export.Row, from, to int) (int64, bool) {
	lp.n++
	path := filepath.Join(lp.dir, fmt.Sprintf("p%d.lp", lp.n))
	text := sense + "\n obj: " + lp.sum(v, r) + "\n" + lp.model(measure, from, to)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		lp.t.Fatal(err)
	}
	out, err := exec.Command(lp.glpsol, "--lp", path, "-o", path+".out").CombinedOutput()
	if strings.Contains(string(out), "UNBOUNDED") || strings.Contains(string(out), "NO DUAL FEASIBLE") {
		return 0, false
	}
	if err != nil {
		lp.t.Fatalf("glpsol: %v\n%s", err, out)
	}
	res, _ := os.ReadFile(path + ".out")
	if st := statusRE.FindSubmatch(res); st == nil || string(st[1]) != "OPTIMAL" {
		lp.t.Fatalf("glpsol finds the versions inconsistent (%s):\n%s\n%.1500s", path, out, res)
	}
	m := objectiveRE.FindSubmatch(res)
	if m == nil {
		lp.t.Fatalf("glpsol output without an objective:\n%s", res)
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		lp.t.Fatal(err)
	}
	return int64(f + 0.5 - map[bool]float64{true: 1, false: 0}[f < 0]), true
}

type lpRange struct {
	lo, hi     int64
	unboundedH bool
}

func (r lpRange) width() int64 {
	if r.unboundedH {
		return 1 << 62
	}
	return r.hi - r.lo
}

func (lp *jointLP) rangeOf(measure string, v int, r *export.Row, from, to int) lpRange {
	lo, okL := lp.solve(measure, "Minimize", v, r, from, to)
	hi, ok := lp.solve(measure, "Maximize", v, r, from, to)
	if !okL {
		lo = -1 << 62
	}
	return lpRange{lo: lo, hi: hi, unboundedH: !ok}
}

// violations lists the hidden cells of any version that all versions
// together determine, or narrow below one event either side, where the
// cell's own version did not; and the first version's hidden cells whose
// range the later versions change.
func (lp *jointLP) violations(measure string) []string {
	last := len(lp.versions) - 1
	var out []string
	hidden := 0
	for v, rep := range lp.versions {
		for i := range rep.Rows {
			r := &rep.Rows[i]
			if !r.Suppressed {
				continue
			}
			hidden++
			name := fmt.Sprintf("version %d, %s of %v", v+1, measure, cellDims(r))
			joint := lp.rangeOf(measure, v, r, 0, last)
			if v > 0 && joint.width() >= 1 {
				continue // nothing to compare: wide enough whatever its own version allows
			}
			alone := lp.rangeOf(measure, v, r, v, v)
			switch {
			case joint.width() == 0 && alone.width() > 0:
				out = append(out, fmt.Sprintf("%s: determined (%d) by all versions together, not by its own", name, joint.lo))
			case measure == "events" && joint.width() < 1 && alone.width() >= 1:
				out = append(out, fmt.Sprintf("%s: all versions narrow it to [%d, %d], its own to [%d, %d]", name, joint.lo, joint.hi, alone.lo, alone.hi))
			case v == 0 && joint != alone:
				out = append(out, fmt.Sprintf("%s: the later versions narrow it from %+v to %+v", name, alone, joint))
			}
		}
	}
	if hidden == 0 {
		lp.t.Fatal("no hidden cell: the check proves nothing")
	}
	lp.t.Logf("%s: %d hidden cells over %d versions, %d linear programs so far", measure, hidden, len(lp.versions), lp.n)
	return out
}

func cellDims(r *export.Row) string {
	s := func(p *string) string {
		if p == nil {
			return "All"
		}
		return *p
	}
	return s(r.CostCentre) + "/" + s(r.Service) + "/" + s(r.RoamingZone)
}
