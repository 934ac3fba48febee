package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	const orgB = ur.Org(923609016)
	a := ur.OrgInfo{
		Org:          org,
		Name:         "Acme AS",
		AgreementEnd: time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC),
		Recipients:   []string{"finance@example.no", "cfo@example.no"},
		MinGroupSize: 7,
	}
	b := ur.OrgInfo{Org: orgB, Name: "Beta"}

	if all, err := s.Orgs(ctx); err != nil || len(all) != 0 {
		t.Errorf("Orgs of a new store = %v, %v", all, err)
	}
	if _, err := s.Org(ctx, org); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("Org of an empty registry: %v, want ErrNotFound", err)
	}
	for _, o := range []ur.OrgInfo{a, b} {
		if err := s.PutOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// A second Store on the folder sees the same registry.
	s2 := openTest(t, dir)
	got, err := s2.Org(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("Org (-want +got):\n%s", diff)
	}
	all, err := s2.Orgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ur.OrgInfo{b, a}, all); diff != "" { // by number
		t.Errorf("Orgs (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(dir, orgsFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", orgsFile, fi.Mode().Perm())
	}

	a2 := a
	a2.Name, a2.AgreementEnd, a2.Recipients, a2.MinGroupSize = "Acme Norge AS", time.Time{}, nil, 0
	if err := s.PutOrg(ctx, a2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Org(ctx, org); !cmp.Equal(a2, got) {
		t.Errorf("after update: %s", cmp.Diff(a2, got))
	}
	for _, k := range []int{1, 2, -1} {
		bad := a
		bad.MinGroupSize = k
		if err := s.PutOrg(ctx, bad); err == nil {
			t.Errorf("PutOrg with minimum group size %d succeeded", k)
		}
	}
	if err := s.RemoveOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveOrg(ctx, org); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("second RemoveOrg: %v, want ErrNotFound", err)
	}
	if all, _ := s.Orgs(ctx); len(all) != 1 || all[0].Org != orgB {
		t.Errorf("Orgs after remove: %+v", all)
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
