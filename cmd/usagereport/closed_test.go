package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
	"usagereport/export"
	"usagereport/internal/pgtest"
)

// lateOrg is an organisation of the samples with a report in 2026-10 and
// 2026-11, and lateSub one of its subscribers there.
const (
	lateOrg = "927489058"
	lateSub = "+4748921785"
)

// lateFile writes n roaming calls of lateSub in 2026-10, arriving late:
// the attack of issue 16 used 4 such records of one person.
func lateFile(t *testing.T, dir, name string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("org_number,subscriber,cost_centre,start_time,service,duration_s,country,charge,b_number\n")
	for i := range n {
		fmt.Fprintf(&b, "%s,%s,Miljø - Drammen,2026-10-2%dT10:00:0%d+02:00,voice,450,US,34.125,+4799999999\n", lateOrg, lateSub, i%8+1, i%10)
	}
	return writeFile(t, dir, name, b.String())
}

// bothStores runs f against an embedded store and a PostgreSQL database.
func bothStores(t *testing.T, f func(t *testing.T, spec string)) {
	server := postgresServer(t)
	t.Run("embedded", func(t *testing.T) { f(t, filepath.Join(t.TempDir(), "store")) })
	t.Run("postgres", func(t *testing.T) { f(t, pgtest.Database(t, server)) })
}

func openTestStore(t *testing.T, spec string) ur.Backend {
	t.Helper()
	e := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string {
		if k == envKey {
			return testKey
		}
		return ""
	}, Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler)}
	st, err := openStore(context.Background(), e, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// readFiles returns every report file under out by path below out.
func readFiles(t *testing.T, out string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	paths, _ := filepath.Glob(filepath.Join(out, "*", "*"))
	for _, p := range paths {
		rel, _ := filepath.Rel(out, p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[rel] = b
	}
	return files
}

// orgEvents counts org's records of month m in the store.
func orgEvents(t *testing.T, spec, org string, m ur.Month) int64 {
	t.Helper()
	st := openTestStore(t, spec)
	var n int64
	err := st.ScanMonth(context.Background(), m, func(r *ur.Record) error {
		if r.Org.String() == org {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// totalEvents returns the events of a report's organisation total.
func totalEvents(t *testing.T, rep *export.Report) int64 {
	t.Helper()
	for _, r := range rep.Rows {
		if r.CostCentre == nil && r.Service == nil && r.RoamingZone == nil {
			if r.Events == nil {
				t.Fatal("the organisation's total is hidden")
			}
			return *r.Events
		}
	}
	t.Fatal("no organisation total")
	return 0
}

// TestClosedMonths runs the attacks of issue 16 on both stores: after a
// late file, October reported again into the same folder, into a new one
// and with k = 3 gives the same bytes or is refused, and the late records
// count in November, once.
func TestClosedMonths(t *testing.T) {
	bothStores(t, func(t *testing.T, store string) {
		dir := t.TempDir()
		samples, _ := filepath.Glob("../../fixtures/sample/*")
		mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
		out := filepath.Join(dir, "out")
		mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", out)
		published := readFiles(t, out)
		if len(published) < 4 {
			t.Fatalf("October published %d files", len(published))
		}

		r := mustRun(t, "ingest", "--store", store, lateFile(t, dir, "late.csv", 4))
		if !strings.Contains(r.stdout, "4 records for closed months will count in the next report") {
			t.Errorf("the ingest does not count the late records:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout+r.stderr, "+4799999999") || strings.Contains(r.stdout+r.stderr, lateSub) {
			t.Error("the ingest printed a number")
		}

		// The same folder, and a new one: the same bytes, and the
		// publication's time, so that a download server's ETag stays.
		for _, o := range []string{out, filepath.Join(dir, "new")} {
			r = mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", o)
			if !strings.Contains(r.stdout, lateOrg+" 2026-10: published earlier on 2026-12-02 (version 1), written from the record") {
				t.Errorf("report into %s does not say it wrote from the record:\n%s", o, r.stdout)
			}
			if diff := cmp.Diff(published, readFiles(t, o)); diff != "" {
				t.Errorf("October written again into %s differs from the publication (-published +again):\n%.2000s", o, diff)
			}
			for rel := range published {
				fi, err := os.Stat(filepath.Join(o, rel))
				if err != nil {
					t.Fatal(err)
				}
				if !fi.ModTime().Equal(testNow) {
					t.Errorf("%s in %s: time %v, want the publication's %v", rel, o, fi.ModTime(), testNow)
				}
			}
		}

		// A smaller k is refused, and nothing is written.
		k3 := filepath.Join(dir, "k3")
		r = run(t, nil, "report", "--store", store, "--month", "2026-10", "--out", k3, "--min-group", "3")
		if r.code != ExitUsage || !strings.Contains(r.stderr, "published on 2026-12-02 with minimum group size 5") {
			t.Errorf("--min-group 3 on a published month: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(k3); !os.IsNotExist(err) {
			t.Errorf("a refused run wrote %s", k3)
		}
		if diff := cmp.Diff(published, readFiles(t, out)); diff != "" {
			t.Errorf("after the refused run October differs:\n%.2000s", diff)
		}

		// The late records count in November, in the organisation's total.
		r = mustRun(t, "report", "--store", store, "--month", "2026-11", "--out", out)
		if !strings.Contains(r.stdout, lateOrg+" 2026-11: includes 4 events from earlier months") {
			t.Errorf("November does not say it includes the late records:\n%s", r.stdout)
		}
		nov := readReport(t, export.Path(out, mustOrg(t, lateOrg), ur.MonthOf(2026, 11), "parquet"))
		if got := nov.Metadata[export.MetaLateEvents]; got != "4" {
			t.Errorf("November's %s = %q, want 4", export.MetaLateEvents, got)
		}
		want := orgEvents(t, store, lateOrg, ur.MonthOf(2026, 11)) + 4
		if got := totalEvents(t, nov); got != want {
			t.Errorf("November's total has %d events, want its own records and the 4 late ones, %d", got, want)
		}
		for path := range published {
			if !strings.Contains(path, lateOrg) || !strings.HasSuffix(path, ".parquet") {
				continue
			}
			oct := readReport(t, filepath.Join(out, path))
			if got, want := totalEvents(t, oct), orgEvents(t, store, lateOrg, ur.MonthOf(2026, 10))-4; got != want {
				t.Errorf("October's total: %d events, want %d (without the late ones)", got, want)
			}
		}

		// November again, and after one more late file: November stays,
		// and counts nothing twice.
		novFiles := readFiles(t, out)
		mustRun(t, "ingest", "--store", store, lateFile(t, dir, "later.csv", 3))
		mustRun(t, "report", "--store", store, "--month", "2026-11", "--out", filepath.Join(dir, "nov-again"))
		for rel, b := range readFiles(t, filepath.Join(dir, "nov-again")) {
			if string(novFiles[rel]) != string(b) {
				t.Errorf("November %s written again differs", rel)
			}
		}
		// The 3 later records are neither in October nor in November:
		// they wait for December, the organisation's next open month.
		r = mustRun(t, "report", "--store", store, "--month", "2026-12", "--out", out, "--org", lateOrg)
		if !strings.Contains(r.stdout, lateOrg+" 2026-12: withheld: fewer than 5 subscribers") {
			t.Errorf("December, with 3 late records of one subscriber:\n%s", r.stdout)
		}
	})
}

func mustOrg(t *testing.T, s string) ur.Org {
	t.Helper()
	o, err := ur.ParseOrgString(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestKillDuringPublish kills a real report process at both points of
// publishing: after the temporary files (before the record), and after the
// record (before the files are in place). A second run leaves one version,
// complete, with no temporary file, and a third run changes nothing.
func TestKillDuringPublish(t *testing.T) {
	bothStores(t, func(t *testing.T, store string) {
		samples, _ := filepath.Glob("../../fixtures/sample/*")
		mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
		for _, point := range []string{"files", "record"} {
			t.Run(point, func(t *testing.T) {
				dir := t.TempDir()
				out := filepath.Join(dir, "out")
				// A month of its own per point: 2026-11, then 2026-10.
				month := map[string]string{"files": "2026-11", "record": "2026-10"}[point]
				st := openTestStore(t, store)
				before := publicationCount(t, st)

				cmd := exec.Command(os.Args[0], "report", "--store", store, "--month", month, "--out", out, "--org", lateOrg)
				cmd.Env = append(os.Environ(), envRunMain+"=1", envKey+"="+testKey, envTestStall+"="+point)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(60 * time.Second)
				for {
					tmps, _ := filepath.Glob(filepath.Join(out, lateOrg, ".*.tmp"))
					if len(tmps) == 2 && (point == "files" || publicationCount(t, st) > before) {
						break
					}
					if time.Now().After(deadline) {
						cmd.Process.Kill()
						t.Fatalf("the report never reached %q", point)
					}
					time.Sleep(5 * time.Millisecond)
				}
				cmd.Process.Signal(syscall.SIGKILL)
				if state, _ := cmd.Process.Wait(); state.Success() {
					t.Fatal("the report finished before the kill; the test proves nothing")
				}
				final, _ := filepath.Glob(filepath.Join(out, lateOrg, lateOrg+"-*"))
				if len(final) != 0 {
					t.Fatalf("after the kill the report files are in place: %v", final)
				}
				wantPubs := before
				if point == "record" {
					wantPubs++
				}
				if got := publicationCount(t, st); got != wantPubs {
					t.Fatalf("after the kill %d publication records, want %d", got, wantPubs)
				}

				r := mustRun(t, "report", "--store", store, "--month", month, "--out", out, "--org", lateOrg)
				if point == "record" && !strings.Contains(r.stdout, "written from the record") {
					t.Errorf("the rerun after a committed record did not write from it:\n%s", r.stdout)
				}
				if got := publicationCount(t, st); got != before+1 {
					t.Errorf("after the rerun %d publication records, want %d: one version", got, before+1)
				}
				if tmps, _ := filepath.Glob(filepath.Join(out, lateOrg, ".*")); len(tmps) != 0 {
					t.Errorf("temporary files left after the rerun: %v", tmps)
				}
				files := readFiles(t, out)
				if len(files) != 2 {
					t.Fatalf("after the rerun %d files, want 2", len(files))
				}
				m, _ := ur.ParseMonth(month)
				p, err := st.Publication(context.Background(), mustOrg(t, lateOrg), m, 1)
				if err != nil {
					t.Fatal(err)
				}
				rep := readReport(t, export.Path(out, mustOrg(t, lateOrg), m, "parquet"))
				if len(rep.Rows) != len(p.Cells) || rep.Metadata[export.MetaPublicationVersion] != "1" {
					t.Errorf("the file has %d cells (version %s), the record %d", len(rep.Rows), rep.Metadata[export.MetaPublicationVersion], len(p.Cells))
				}
				mustRun(t, "report", "--store", store, "--month", month, "--out", out, "--org", lateOrg)
				if diff := cmp.Diff(files, readFiles(t, out)); diff != "" {
					t.Errorf("a third run changed the files")
				}
			})
		}
	})
}

func publicationCount(t *testing.T, st ur.Publisher) int {
	t.Helper()
	all, err := st.Publications(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}
