package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

func TestPurgeCommand(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "generated.csv")
	// Events in 2026-10 and 2026-11.
	mustRun(t, "generate", "--out", gen, "--rows", "20000", "--seed", "3", "--orgs", "4")
	for name, store := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			mustRun(t, "ingest", "--store", store, gen)
			before := countByOrgMonth(t, store)
			if len(before) < 4 {
				t.Fatalf("generated file has %d org-months, want at least 4", len(before))
			}
			var gone ur.Org // an org whose agreement ended 2026-05-31
			for k := range before {
				gone = k.org
				break
			}
			mustRun(t, "org", "add", "--store", store, "--org", gone.String(), "--name", "Gone AS", "--agreement-end", "2026-05-31")

			// On 2026-12-02 with 1 month of retention, 2026-10 goes; 2026-11
			// stays but for the org whose agreement ended more than 6 months ago.
			args := []string{"purge", "--store", store, "--now", "2026-12-02", "--retention-months", "1"}
			dry := mustRun(t, append(args, "--dry-run")...)
			if diff := cmp.Diff(before, countByOrgMonth(t, store)); diff != "" {
				t.Errorf("dry run changed the store (-before +after):\n%s", diff)
			}
			r := mustRun(t, args...)
			if want := strings.ReplaceAll(dry.stdout, "would delete", "deleted"); r.stdout != want {
				t.Errorf("purge printed\n%s\nthe dry run promised\n%s", r.stdout, dry.stdout)
			}
			var oct, nov, goneNov int64
			for k, n := range before {
				switch {
				case k.month == ur.MonthOf(2026, 10):
					oct += n
				case k.org == gone:
					goneNov += n
				default:
					nov += n
				}
			}
			for _, line := range []string{
				"deleted month 2026-10: " + itoa(oct) + " records",
				"deleted organisation " + gone.String() + " (agreement ended 2026-05-31): " + itoa(goneNov) + " records",
				"deleted " + itoa(oct+goneNov) + " records in all",
			} {
				if !strings.Contains(r.stdout, line+"\n") {
					t.Errorf("purge output lacks %q:\n%s", line, r.stdout)
				}
			}
			after := countByOrgMonth(t, store)
			var left int64
			for k, n := range after {
				if k.month != ur.MonthOf(2026, 11) || k.org == gone {
					t.Errorf("after purge %s has %d records of %s", k.month, n, k.org)
				}
				left += n
			}
			if left != nov {
				t.Errorf("after purge: %d records, want %d", left, nov)
			}
			// A second purge finds nothing more.
			r = mustRun(t, args...)
			if !strings.Contains(r.stdout, "deleted 0 records in all") {
				t.Errorf("second purge:\n%s", r.stdout)
			}
		})
	}
}

type orgMonth struct {
	org   ur.Org
	month ur.Month
}

func countByOrgMonth(t *testing.T, spec string) map[orgMonth]int64 {
	t.Helper()
	ctx := context.Background()
	e := &Env{Getenv: func(string) string { return "" }}
	st, err := openStore(ctx, e, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	months, err := st.Months(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[orgMonth]int64{}
	for _, m := range months {
		if err := st.ScanMonth(ctx, m, func(r *ur.Record) error {
			out[orgMonth{r.Org, m}]++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
