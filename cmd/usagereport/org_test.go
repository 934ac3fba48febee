package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"usagereport/internal/pgtest"
)

// testStores returns an embedded store folder and a PostgreSQL database,
// fresh, for tests that run a command against both.
func testStores(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"embedded": filepath.Join(t.TempDir(), "store"),
		"postgres": pgtest.Database(t, postgresServer(t)),
	}
}

func TestOrgCommands(t *testing.T) {
	for name, store := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			mustRun(t, "init", "--store", store)
			r := mustRun(t, "org", "list", "--store", store)
			if r.stdout != "no organisations registered\n" {
				t.Errorf("list of an empty registry:\n%s", r.stdout)
			}
			mustRun(t, "org", "add", "--store", store, "--org", "974760673", "--name", "Acme AS",
				"--agreement-end", "2026-06-30", "--recipient", "finance@example.no", "--recipient", "cfo@example.no", "--min-group", "7")
			mustRun(t, "org", "add", "--store", store, "--org", "923609016", "--name", "Beta")
			if r := run(t, nil, "org", "add", "--store", store, "--org", "923609016", "--name", "Again"); r.code != ExitFailure {
				t.Errorf("add of a registered org: exit %d, want %d", r.code, ExitFailure)
			}
			mustRun(t, "org", "set", "--store", store, "--org", "923609016", "--min-group", "5", "--agreement-end", "2027-01-31")
			r = mustRun(t, "org", "list", "--store", store)
			want := `ORG        NAME     AGREEMENT END  MIN GROUP  RECIPIENTS
923609016  Beta     2027-01-31     5          0
974760673  Acme AS  2026-06-30     7          2
`
			if diff := cmp.Diff(want, r.stdout); diff != "" {
				t.Errorf("org list (-want +got):\n%s", diff)
			}
			r = mustRun(t, "org", "list", "--store", store, "--recipients")
			if !strings.Contains(r.stdout, "finance@example.no, cfo@example.no") {
				t.Errorf("org list --recipients:\n%s", r.stdout)
			}
			// Clearing the agreement end and replacing the recipients.
			mustRun(t, "org", "set", "--store", store, "--org", "974760673", "--agreement-end", "", "--recipient", "new@example.no")
			r = mustRun(t, "org", "list", "--store", store, "--recipients")
			if !strings.Contains(r.stdout, "974760673  Acme AS  -              7          new@example.no") {
				t.Errorf("after set:\n%s", r.stdout)
			}
			mustRun(t, "org", "remove", "--store", store, "--org", "923609016")
			if r := run(t, nil, "org", "remove", "--store", store, "--org", "923609016"); r.code != ExitFailure {
				t.Errorf("second remove: exit %d, want %d", r.code, ExitFailure)
			}
			for _, args := range [][]string{
				{"org"},
				{"org", "frobnicate", "--store", store},
				{"org", "add", "--store", store, "--org", "974760674", "--name", "Bad check digit"},
				{"org", "add", "--store", store, "--org", "986105174", "--name", "Low k", "--min-group", "2"},
				{"org", "add", "--store", store, "--org", "986105174"},
				{"org", "set", "--store", store, "--org", "974760673", "--agreement-end", "30.06.2026"},
				{"org", "add", "--store", store, "--org", "986105174", "--name", "X", "--recipient", "not an address"},
			} {
				if r := run(t, nil, args...); r.code != ExitUsage {
					t.Errorf("%s: exit %d, want %d\n%s", strings.Join(args, " "), r.code, ExitUsage, r.stderr)
				}
			}
		})
	}
}
