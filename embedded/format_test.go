package embedded

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ur "usagereport"
)

// TestFormatVersions: a new store is version 2; a version 1 store (written
// by a build that kept publication records in two files) opens, stays
// version 1 while it is only read or ingested into, and becomes version 2
// with its first one-file record, so that an older build refuses it; any
// other FORMAT is refused.
func TestFormatVersions(t *testing.T) {
	ctx := context.Background()
	readFormat := func(dir string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "FORMAT"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	fresh := t.TempDir()
	openTest(t, fresh)
	if got := readFormat(fresh); got != formatLine {
		t.Errorf("a new store's FORMAT = %q, want %q", got, formatLine)
	}

	old := t.TempDir()
	openTest(t, old)
	if err := os.WriteFile(filepath.Join(old, "FORMAT"), []byte(formatLineV1), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, old)
	if _, err := s.Publications(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readFormat(old); got != formatLineV1 {
		t.Fatalf("a version 1 store only read: FORMAT = %q, want it left at version 1", got)
	}
	p := testPublication(ur.Org(974760673), ur.MonthOf(2026, 10), 1, 900)
	publishTwoFiles(t, s, &p)
	if got := readFormat(old); got != formatLineV1 {
		t.Fatalf("a two-file record: FORMAT = %q, want version 1", got)
	}
	q := testPublication(ur.Org(974760673), ur.MonthOf(2026, 11), 1, 950)
	if err := s.Publish(ctx, &q); err != nil {
		t.Fatal(err)
	}
	if got := readFormat(old); got != formatLine {
		t.Fatalf("after a one-file record: FORMAT = %q, want %q", got, formatLine)
	}
	// Reopened, both records read.
	s = openTest(t, old)
	for _, want := range []ur.Publication{p, q} {
		if _, err := s.Publication(ctx, want.Org, want.Month, want.Version); err != nil {
			t.Errorf("%s v%d after the upgrade: %v", want.Month, want.Version, err)
		}
	}

	for _, line := range []string{"usagereport embedded store v3\n", "usagereport embedded store v1", "something else\n"} {
		dir := t.TempDir()
		openTest(t, dir)
		if err := os.WriteFile(filepath.Join(dir, "FORMAT"), []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, dir, nil)
		if err == nil || !strings.Contains(err.Error(), "known format") {
			t.Errorf("FORMAT %q: Open = %v, want refused as of no known format", line, err)
		}
	}
}
