// Package orgtest checks what a store keeps about organisations (the
// registry, the access tokens, the audit log, and the revocation of an
// organisation's tokens on its removal) the same way for both stores.
package orgtest

import (
	"context"
	"errors"
	"testing"
	"time"

	ur "usagereport"
)

// Store is what the checks need of a store.
type Store interface {
	ur.Tokens
	ur.Registry
	ur.AuditLog
}

// Organisations with valid check digits.
const orgA, orgB = ur.Org(974760673), ur.Org(923609016)

// Tokens creates a token for each of two organisations, looks them up,
// lists and revokes them, and returns the two tokens in clear, for a
// store's own checks that it never keeps them.
func Tokens(t *testing.T, s Store) (tokA, tokB string) {
	t.Helper()
	ctx := context.Background()
	tokA, tokB = ur.NewToken(), ur.NewToken()
	idA, err := s.CreateToken(ctx, orgA, "finance", ur.TokenHash(tokA))
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
	if err != nil || got.Org != orgA || got.ID != idA || got.Name != "finance" || got.CreatedAt.IsZero() {
		t.Errorf("TokenByHash(A) = %+v, %v; want org %s id %d", got, err, orgA, idA)
	}
	if _, err := s.TokenByHash(ctx, ur.TokenHash(ur.NewToken())); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("TokenByHash(unknown) err = %v, want ErrNotFound", err)
	}
	if l, err := s.ListTokens(ctx, orgB); err != nil || len(l) != 1 || l[0].ID != idB {
		t.Errorf("ListTokens(B) = %+v, %v", l, err)
	}
	if err := s.RevokeToken(ctx, idA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, ur.TokenHash(tokA)); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("TokenByHash(revoked) err = %v, want ErrNotFound", err)
	}
	if err := s.RevokeToken(ctx, idA); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if err := s.RevokeToken(ctx, 999); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("RevokeToken(999) err = %v, want ErrNotFound", err)
	}
	l, err := s.ListTokens(ctx, 0)
	if err != nil || len(l) != 2 || l[0].RevokedAt.IsZero() || !l[1].RevokedAt.IsZero() {
		t.Errorf("ListTokens(0) = %+v, %v; want A revoked, B not", l, err)
	}
	return tokA, tokB
}

// AuditLog appends two events and reads them back, all and since a time.
func AuditLog(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	evs := []ur.AuditEvent{
		{Time: t0, Outcome: ur.OutcomeFailedAuth, Remote: "192.0.2.1"},
		{Time: t0.Add(time.Hour), Org: orgA, Report: "974760673-2026-11.xlsx", Outcome: ur.OutcomeDownloaded, Remote: "2001:db8::1"},
	}
	for _, ev := range evs {
		if err := s.AppendAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.AuditEvents(ctx, time.Time{})
	if err != nil || len(all) != 2 || all[0] != evs[0] || all[1] != evs[1] {
		t.Errorf("AuditEvents = %+v, %v; want %+v", all, err, evs)
	}
	later, err := s.AuditEvents(ctx, t0.Add(time.Minute))
	if err != nil || len(later) != 1 || later[0] != evs[1] {
		t.Errorf("AuditEvents(since) = %+v, %v; want just %+v", later, err, evs[1])
	}
}

// RemoveOrgRevokesTokens: removing an organisation revokes all its tokens
// at once (one revoked before keeps its time) and no other's, and a
// removal refused as not found revokes nothing.
func RemoveOrgRevokesTokens(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	const other = orgB
	for _, o := range []ur.OrgInfo{{Org: orgA, Name: "A"}, {Org: other, Name: "B"}} {
		if err := s.PutOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	toks := [3]string{ur.NewToken(), ur.NewToken(), ur.NewToken()}
	var ids [3]int64
	for i, o := range []ur.Org{orgA, orgA, other} {
		id, err := s.CreateToken(ctx, o, "", ur.TokenHash(toks[i]))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	if err := s.RevokeToken(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	before, err := s.ListTokens(ctx, orgA)
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
	if err := s.RemoveOrg(ctx, orgA); err != nil {
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
	after, err := s.ListTokens(ctx, orgA)
	if err != nil || len(after) != 2 {
		t.Fatalf("ListTokens after removal: %+v, %v", after, err)
	}
	if after[0].RevokedAt.IsZero() || !after[1].RevokedAt.Equal(before[1].RevokedAt) {
		t.Errorf("revocation times after removal %v, %v; want set, and %v kept", after[0].RevokedAt, after[1].RevokedAt, before[1].RevokedAt)
	}
	if err := s.RemoveOrg(ctx, orgA); !errors.Is(err, ur.ErrNotFound) {
		t.Errorf("second RemoveOrg: %v, want ErrNotFound", err)
	}
}
