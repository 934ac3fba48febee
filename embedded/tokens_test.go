package embedded

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ur "usagereport"
	"usagereport/internal/orgtest"
)

func TestTokens(t *testing.T) {
	dir := t.TempDir()
	tokA, tokB := orgtest.Tokens(t, openTest(t, dir))

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
	orgtest.AuditLog(t, openTest(t, t.TempDir()))
}

// TestAuditLogConcurrentAndTorn: appends from many goroutines all land,
// and a line cut short by a crash is skipped.
func TestAuditLogConcurrentAndTorn(t *testing.T) {
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

func TestRemoveOrgRevokesTokens(t *testing.T) {
	orgtest.RemoveOrgRevokesTokens(t, openTest(t, t.TempDir()))
}
