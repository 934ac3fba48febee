package embedded

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	ur "usagereport"
	"usagereport/internal/orgtest"
)

func TestRegistry(t *testing.T) {
	dir := t.TempDir()
	orgtest.Registry(t, openTest(t, dir), func() orgtest.Store { return openTest(t, dir) })
	// The registry holds recipients: personal data, for the owner only.
	fi, err := os.Stat(filepath.Join(dir, orgsFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", orgsFile, fi.Mode().Perm())
	}
}

// TestRegistryConcurrentPuts: writers under the store's lock lose no entry.
func TestRegistryConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	orgs := []ur.Org{974760673, 923609016, 986105174, 914778271, 889640782, 971526920}
	openTest(t, dir) // creates the store; concurrent Opens of an existing one follow
	var wg sync.WaitGroup
	for _, o := range orgs {
		wg.Go(func() {
			s, err := Open(ctx, dir, nil)
			if err != nil {
				t.Error(err)
				return
			}
			if err := s.PutOrg(ctx, ur.OrgInfo{Org: o, Name: o.String()}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	all, err := openTest(t, dir).Orgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(orgs) {
		t.Errorf("registry has %d entries after %d concurrent puts", len(all), len(orgs))
	}
}
