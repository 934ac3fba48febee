package orgtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

// Registry puts two organisations, reads them back (through again, a
// second handle on the same store, as another process would have), then
// replaces one whole, refuses minimum group sizes below the floor and
// removes it.
func Registry(t *testing.T, s Store, again func() Store) {
	t.Helper()
	ctx := context.Background()
	a := ur.OrgInfo{
		Org:          orgA,
		Name:         "Acme AS",
		AgreementEnd: time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC),
		Recipients:   []string{"finance@example.no", "cfo@example.no"},
		MinGroupSize: 7,
	}
	b := ur.OrgInfo{Org: orgB, Name: "Beta"}

	if all, err := s.Orgs(ctx); err != nil || len(all) != 0 {
		t.Errorf("Orgs of a new store = %v, %v", all, err)
	}
	if _, err := s.Org(ctx, orgA); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("Org of an empty registry: %v, want ErrNotFound", err)
	}
	for _, o := range []ur.OrgInfo{a, b} {
		if err := s.PutOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	s2 := again()
	got, err := s2.Org(ctx, orgA)
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
	if diff := cmp.Diff([]ur.OrgInfo{b, a}, all); diff != "" { // by number: orgB < orgA
		t.Errorf("Orgs (-want +got):\n%s", diff)
	}

	// Put replaces the whole entry.
	a2 := a
	a2.Name, a2.AgreementEnd, a2.Recipients, a2.MinGroupSize = "Acme Norge AS", time.Time{}, nil, 0
	if err := s.PutOrg(ctx, a2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Org(ctx, orgA); !cmp.Equal(a2, got) {
		t.Errorf("after update: %s", cmp.Diff(a2, got))
	}
	for _, k := range []int{1, 2, -1} {
		bad := a
		bad.MinGroupSize = k
		if err := s.PutOrg(ctx, bad); err == nil {
			t.Errorf("PutOrg with minimum group size %d succeeded", k)
		}
	}

	if err := s.RemoveOrg(ctx, orgA); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveOrg(ctx, orgA); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("second RemoveOrg: %v, want ErrNotFound", err)
	}
	if all, _ := s.Orgs(ctx); len(all) != 1 || all[0].Org != orgB {
		t.Errorf("Orgs after remove: %+v", all)
	}
}
