package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ur "usagereport"
)

func TestTokens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	const orgB = ur.Org(923609016)
	tokA, tokB := ur.NewToken(), ur.NewToken()
	idA, err := s.CreateToken(ctx, org, "finance", ur.TokenHash(tokA))
	if err != nil {
		t.Fatal(err)
	}
	idB, err := s.CreateToken(ctx, orgB, "", ur.TokenHash(tokB))
	if err != nil {
		t.Fatal(err)
	}
	if idA == idB {
		t.Fatalf("ids: both %d", idA)
	}
	got, err := s.TokenByHash(ctx, ur.TokenHash(tokA))
	if err != nil || got.Org != org || got.ID != idA || got.Name != "finance" {
		t.Errorf("TokenByHash(A) = %+v, %v; want org %s id %d", got, err, org, idA)
	}
	if _, err := s.TokenByHash(ctx, ur.TokenHash(ur.NewToken())); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("TokenByHash(unknown) err = %v, want ErrNotFound", err)
	}
	if l, _ := s.ListTokens(ctx, orgB); len(l) != 1 || l[0].ID != idB {
		t.Errorf("ListTokens(B) = %+v", l)
	}
	if err := s.RevokeToken(ctx, idA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, ur.TokenHash(tokA)); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("TokenByHash(revoked) err = %v, want ErrNotFound", err)
	}
	if err := s.RevokeToken(ctx, 999); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("RevokeToken(999) err = %v, want ErrNotFound", err)
	}
	l, _ := s.ListTokens(ctx, 0)
	if len(l) != 2 || l[0].RevokedAt.IsZero() || !l[1].RevokedAt.IsZero() {
		t.Errorf("ListTokens(0) = %+v, want A revoked, B not", l)
	}

	// The file holds hashes and modes 0600, never a token.
	b, err := os.ReadFile(filepath.Join(dir, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), tokA) || strings.Contains(string(b), tokB) {
		t.Errorf("tokens.json holds a token in clear")
	}
	if fi, _ := os.Stat(filepath.Join(dir, "tokens.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("tokens.json mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestTokensConcurrentCreate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	s2 := openTest(t, dir) // a second handle, as a second process would have
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			st := []*Store{s, s2}[i%2]
			if _, err := st.CreateToken(ctx, org, "", ur.TokenHash(ur.NewToken())); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	l, err := s.ListTokens(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, ti := range l {
		seen[ti.ID] = true
	}
	if len(l) != 20 || len(seen) != 20 {
		t.Errorf("got %d tokens with %d distinct ids, want 20 and 20", len(l), len(seen))
	}
}

func TestAuditLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	evs := []ur.AuditEvent{
		{Time: t0, Outcome: ur.OutcomeFailedAuth, Remote: "192.0.2.1"},
		{Time: t0.Add(time.Hour), Org: org, Report: "974760673-2026-11.xlsx", Outcome: ur.OutcomeDownloaded, Remote: "192.0.2.2"},
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := s.AppendAudit(ctx, evs[0]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.AppendAudit(ctx, evs[1]); err != nil {
		t.Fatal(err)
	}
	all, err := s.AuditEvents(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 51 || all[50] != evs[1] {
		t.Fatalf("AuditEvents: %d events, last %+v; want 51, last %+v", len(all), all[len(all)-1], evs[1])
	}
	later, err := s.AuditEvents(ctx, t0.Add(time.Minute))
	if err != nil || len(later) != 1 || later[0] != evs[1] {
		t.Errorf("AuditEvents(since) = %+v, %v; want just %+v", later, err, evs[1])
	}

	// A line cut short by a crash is skipped, and appending goes on after it.
	f, err := os.OpenFile(filepath.Join(dir, "audit.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2026-12-01T1`)
	f.Close()
	if got, err := s.AuditEvents(ctx, time.Time{}); err != nil || len(got) != 51 {
		t.Errorf("after a torn line: %d events, %v; want 51, nil", len(got), err)
	}
	if err := s.AppendAudit(ctx, evs[1]); err != nil {
		t.Fatal(err)
	}
	got, err := s.AuditEvents(ctx, time.Time{})
	if err != nil || len(got) != 52 || got[51] != evs[1] {
		t.Errorf("append after a torn line: %d events, %v; want 52 ending in %+v", len(got), err, evs[1])
	}
}

// TestRemoveOrgRevokesTokens: removing an organisation revokes all its
// tokens at once (one revoked before keeps its time) and no other's, and a
// removal refused as not found revokes nothing.
func TestRemoveOrgRevokesTokens(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	const other = ur.Org(923609016)
	for _, o := range []ur.OrgInfo{{Org: org, Name: "A"}, {Org: other, Name: "B"}} {
		if err := s.PutOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	toks := [3]string{ur.NewToken(), ur.NewToken(), ur.NewToken()}
	var ids [3]int64
	for i, o := range []ur.Org{org, org, other} {
		id, err := s.CreateToken(ctx, o, "", ur.TokenHash(toks[i]))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	if err := s.RevokeToken(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	before, err := s.ListTokens(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	// An unregistered organisation's removal is refused and revokes nothing.
	const unregistered = ur.Org(910000004)
	tokU := ur.NewToken()
	if _, err := s.CreateToken(ctx, unregistered, "", ur.TokenHash(tokU)); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveOrg(ctx, unregistered); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("RemoveOrg of an unregistered organisation: %v, want ErrNotFound", err)
	}
	if _, err := s.TokenByHash(ctx, ur.TokenHash(tokU)); err != nil {
		t.Errorf("the unregistered organisation's token after its refused removal: %v", err)
	}
	if err := s.RemoveOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := s.TokenByHash(ctx, ur.TokenHash(toks[i])); !errors.Is(err, ur.ErrNotFound) {
			t.Errorf("token %d of the removed organisation: %v, want ErrNotFound", i+1, err)
		}
	}
	if got, err := s.TokenByHash(ctx, ur.TokenHash(toks[2])); err != nil || got.Org != other {
		t.Errorf("the other organisation's token: %+v, %v", got, err)
	}
	after, err := s.ListTokens(ctx, org)
	if err != nil || len(after) != 2 {
		t.Fatalf("ListTokens after removal: %+v, %v", after, err)
	}
	if after[0].RevokedAt.IsZero() || !after[1].RevokedAt.Equal(before[1].RevokedAt) {
		t.Errorf("revocation times after removal %v, %v; want set, and %v kept", after[0].RevokedAt, after[1].RevokedAt, before[1].RevokedAt)
	}
	if err := s.RemoveOrg(ctx, org); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("second RemoveOrg: %v, want ErrNotFound", err)
	}
}
