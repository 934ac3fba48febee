// Package golden compares a test's output with a golden file, and rewrites
// the file instead when the tests run with -update. Only tests import it:
// it registers the -update flag of their test binary.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the tests produce")

// Update reports whether the tests run with -update, for a test that
// rewrites a golden file of its own kind.
func Update() bool { return *update }

// Compare compares got with the file at path (relative to the package's
// folder, as a test runs), showing a diff when they differ; with -update
// it writes got to path instead, creating its folder.
func Compare(tb testing.TB, path, got string) {
	tb.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run the test with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		tb.Errorf("%s differs (-want +got); if the change is intended, rerun with -update:\n%s", path, diff)
	}
}
