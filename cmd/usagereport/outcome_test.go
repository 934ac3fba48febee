package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneOrganisationFailsAlone makes one organisation's cube impossible
// (its charges sum past DECIMAL(18,4)) and expects every other
// organisation's report written, the summary printed naming the failed
// one, and exit 1 only after that.
func TestOneOrganisationFailsAlone(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "two.csv", oneFailingOrg())
	store, out := filepath.Join(dir, "store"), filepath.Join(dir, "out")
	mustRun(t, "ingest", "--store", store, csv)
	r := run(t, nil, "report", "--store", store, "--month", "2026-10", "--out", out)
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, ExitFailure, r.stdout, r.stderr)
	}
	checkOneFailingOrg(t, out, r)
	for _, want := range []string{
		bad + " 2026-10: failed, so no report",
		"1 report written (2 files)",
		"0 withheld, 1 failed",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "1 organisation failed, every other report written: "+bad) {
		t.Errorf("stderr does not name the failed organisation:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "level=WARN") || !strings.Contains(r.stderr, "org="+bad) {
		t.Errorf("no warning naming the organisation:\n%s", r.stderr)
	}
}

// TestHistoryMonthLeftOut spoils one organisation's publication record of
// October and reports November: the run goes on, that workbook leaves
// October out with a warning naming the organisation and month, and the
// other organisations' workbooks still show it.
func TestHistoryMonthLeftOut(t *testing.T) {
	samples, _ := filepath.Glob("../../fixtures/sample/*")
	dir := t.TempDir()
	store, out := filepath.Join(dir, "store"), filepath.Join(dir, "out")
	mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
	mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", filepath.Join(dir, "oct"))
	recs, _ := filepath.Glob(filepath.Join(store, "publications", "*", "2026-10.v1.rec"))
	if len(recs) < 2 {
		t.Fatalf("publication records of October: %v", recs)
	}
	spoilt := filepath.Base(filepath.Dir(recs[0]))
	// The record's cells, at its end, no longer match its digest.
	b, err := os.ReadFile(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(recs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "report", "--store", store, "--month", "2026-11", "--out", out)
	if r.code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "history month left out") || !strings.Contains(r.stderr, "org="+spoilt) || !strings.Contains(r.stderr, "month=2026-10") {
		t.Errorf("no warning naming %s and 2026-10:\n%s", spoilt, r.stderr)
	}
	headers := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(out, "*", "*-2026-11.xlsx"))
	for _, f := range files {
		headers[filepath.Base(filepath.Dir(f))] = historyHeaderOf(t, f)
	}
	if len(headers) < 2 {
		t.Fatalf("November workbooks: %v", files)
	}
	for org, h := range headers {
		if got := strings.Contains(h, "2026-10"); got == (org == spoilt) {
			t.Errorf("%s: history %q (October shown: %t)", org, h, got)
		}
	}
}

// The two organisations of the failure tests: good reports, bad's sums
// overflow, so its cube cannot be made.
const good, bad = "847680741", "978545343"

// oneFailingOrg is an export of good and bad, with call parties.
func oneFailingOrg() string {
	var b strings.Builder
	b.WriteString("org_number,subscriber,cost_centre,start_time,service,duration_s,country,charge,b_number\n")
	for _, org := range []string{good, bad} {
		for s := range 6 {
			charge := "1.50"
			if org == bad && s == 0 {
				charge = "99999999999999.0000" // the sums overflow
			}
			for i := range 2 {
				fmt.Fprintf(&b, "%s,+47%s%d,Salg,2026-10-1%dT10:00:00+02:00,voice,60,NO,%s,+4799999999\n", org, org[:6], s, i, charge)
			}
		}
	}
	return b.String()
}

// checkOneFailingOrg checks a run over oneFailingOrg: good's files
// written, none for bad, and no number of the input in the output.
func checkOneFailingOrg(t *testing.T, out string, r result) {
	t.Helper()
	for _, ext := range []string{"parquet", "xlsx"} {
		if _, err := os.Stat(filepath.Join(out, good, good+"-2026-10."+ext)); err != nil {
			t.Errorf("the good organisation's report: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, bad)); err == nil {
		t.Errorf("the failed organisation has a report folder")
	}
	for _, secret := range []string{"+47" + bad[:6], "+4799999999"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("output holds a number of the input (%s)", secret)
		}
	}
}
