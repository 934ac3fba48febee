package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ur "usagereport"
)

// The findings of the red-team run of issue 22, each against a running
// server. The two stores behind a running serve are tested in
// cmd/usagereport (TestServeRefusesRemovedOrg).

// TestRemovedOrgRefused: once its organisation leaves the registry, or its
// agreement ended more than the retention period ago, a valid token and a
// live session are refused like unknown ones (401) and audited as refused;
// the other organisation is untouched.
func TestRemovedOrgRefused(t *testing.T) {
	for _, how := range []string{"removed", "agreement ended past retention"} {
		t.Run(how, func(t *testing.T) {
			// Sessions outlive the day the clock moves on.
			b := setup(t, func(c *Config) { c.SessionTTL = 48 * time.Hour })
			ctx := t.Context()
			cookie := b.client(t)
			b.signIn(t, cookie, b.tokA)
			cookieB := b.client(t)
			b.signIn(t, cookieB, b.tokB)
			c := b.client(t)
			if r := do(t, c, "GET", b.url+"/v1/reports/2026-10.xlsx", nil, bearer(b.tokA)); r.status != 200 {
				t.Fatalf("before: status %d", r.status)
			}
			switch how {
			case "removed":
				// Straight from the registry file's point of view: the
				// token itself is not revoked (org remove does that too;
				// the server must not depend on it).
				removeFromRegistryOnly(t, b, orgA, b.tokA)
			case "agreement ended past retention":
				// Ended 6 months ago to the day: still served until today.
				end := b.clock.Now().AddDate(0, -AgreementGraceMonths, 1).Truncate(24 * time.Hour)
				if err := b.store.PutOrg(ctx, ur.OrgInfo{Org: orgA, Name: "A", AgreementEnd: end}); err != nil {
					t.Fatal(err)
				}
				if r := do(t, c, "GET", b.url+"/v1/reports", nil, bearer(b.tokA)); r.status != 200 {
					t.Fatalf("within retention after the agreement: status %d, want 200", r.status)
				}
				b.clock.Add(24 * time.Hour)
			}
			before, _ := b.store.AuditEvents(ctx, time.Time{})
			unknown := do(t, c, "GET", b.url+"/v1/reports", nil, bearer(ur.NewToken()))
			for _, path := range []string{"/v1/reports", "/v1/reports/2026-10.xlsx"} {
				r := do(t, c, "GET", b.url+path, nil, bearer(b.tokA))
				if d := sameResponse(r, unknown); r.status != 401 || d != "" {
					t.Errorf("bearer GET %s: status %d (%s); want the unknown token's 401", path, r.status, d)
				}
				if r := do(t, cookie, "GET", b.url+path, nil); r.status != 401 {
					t.Errorf("session GET %s: status %d, want 401", path, r.status)
				}
			}
			if r := do(t, c, "POST", b.url+"/signin", strings.NewReader("token="+b.tokA),
				"Content-Type: application/x-www-form-urlencoded", "Origin: "+b.url); r.status != 401 {
				t.Errorf("sign-in: status %d, want 401", r.status)
			}
			if r := do(t, cookieB, "GET", b.url+"/v1/reports/2026-11.parquet", nil); r.status != 200 {
				t.Errorf("the other organisation's session: status %d, want 200", r.status)
			}
			after, _ := b.store.AuditEvents(ctx, time.Time{})
			refused := 0
			for _, ev := range after[len(before):] {
				if ev.Outcome == ur.OutcomeOrgNotServed && ev.Org == orgA && ev.Remote == "127.0.0.1" {
					refused++
				}
			}
			// Two bearer requests, the session's first (which ends it), the sign-in.
			if refused != 4 {
				t.Errorf("audit log: %d %q events of %s, want 4", refused, ur.OutcomeOrgNotServed, orgA)
			}
		})
	}
}

// removeFromRegistryOnly takes org out of the embedded store's registry
// and puts its tokens back as they were, unrevoked, as a hand edit of the
// registry would leave them.
func removeFromRegistryOnly(t *testing.T, b *bundle, org ur.Org, tok string) {
	t.Helper()
	path := filepath.Join(filepath.Dir(b.reports), "store", "tokens.json")
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.RemoveOrg(t.Context(), org); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.TokenByHash(t.Context(), ur.TokenHash(tok)); err != nil {
		t.Fatalf("the token should be valid in the store again: %v", err)
	}
}

// TestSessionFlood: organisation A signing in over and over can neither
// end organisation B's session nor grow the table past its own share; a
// full table refuses new sign-ins rather than evict anyone's; successful
// sign-ins are rate limited per address and per token, and audited.
func TestSessionFlood(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		b := setup(t, nil)
		cb := b.client(t)
		b.signIn(t, cb, b.tokB)
		// The red team's flood: thousands of sign-ins with A's token.
		codes := flood(t, b, b.tokA, 2000)
		if codes[303] > DefaultSignInBurst || codes[429] < 2000-DefaultSignInBurst {
			t.Errorf("flood of 2000 sign-ins: %v; want at most %d accepted, the rest 429", codes, DefaultSignInBurst)
		}
		if r := do(t, cb, "GET", b.url+"/v1/reports/2026-11.parquet", nil); r.status != 200 {
			t.Errorf("B's session after A's flood: status %d, want 200", r.status)
		}
		evs, _ := b.store.AuditEvents(t.Context(), time.Time{})
		signedIn := map[ur.Org]int{}
		for _, ev := range evs {
			if ev.Outcome == ur.OutcomeSignedIn && ev.Remote == "127.0.0.1" {
				signedIn[ev.Org]++
			}
		}
		if signedIn[orgA] != codes[303] || signedIn[orgB] != 1 {
			t.Errorf("audited sign-ins %v; want %d of A, 1 of B", signedIn, codes[303])
		}
	})
	t.Run("caps", func(t *testing.T) {
		b := setup(t, func(c *Config) { c.SignInBurst = 1000; c.MaxOrgSessions = 3; c.MaxSessions = 7 })
		cb := b.client(t)
		b.signIn(t, cb, b.tokB)
		first := b.client(t)
		b.signIn(t, first, b.tokA)
		if codes := flood(t, b, b.tokA, 50); codes[303] != 50 {
			t.Fatalf("50 sign-ins under a high rate limit: %v", codes)
		}
		if n := b.srv.sess.len(); n != 4 {
			t.Errorf("%d sessions, want 4: A's newest 3 and B's", n)
		}
		if r := do(t, first, "GET", b.url+"/v1/reports", nil); r.status != 401 {
			t.Errorf("A's oldest session after 50 more of A's: status %d, want 401 (evicted)", r.status)
		}
		if r := do(t, cb, "GET", b.url+"/v1/reports/2026-11.parquet", nil); r.status != 200 {
			t.Errorf("B's session after A's flood: status %d, want 200", r.status)
		}
		// B's own 4th sign-in evicts B's oldest; A's next evicts A's own.
		second := b.client(t)
		b.signIn(t, second, b.tokB)
		b.signIn(t, b.client(t), b.tokB)
		b.signIn(t, b.client(t), b.tokB)
		if r := do(t, cb, "GET", b.url+"/v1/reports", nil); r.status != 401 {
			t.Errorf("B's oldest after B's own 4th: status %d, want 401", r.status)
		}
		b.signIn(t, b.client(t), b.tokA)
		if r := do(t, second, "GET", b.url+"/v1/reports", nil); r.status != 200 {
			t.Errorf("B's session after another of A's: status %d, want 200", r.status)
		}
		if n := b.srv.sess.len(); n != 6 {
			t.Errorf("%d sessions, want 6: 3 of each", n)
		}
	})
	t.Run("full table refuses", func(t *testing.T) {
		b := setup(t, func(c *Config) { c.SignInBurst = 1000; c.MaxOrgSessions = 3; c.MaxSessions = 4 })
		cb := b.client(t)
		b.signIn(t, cb, b.tokB)
		flood(t, b, b.tokA, 3)
		r := do(t, b.client(t), "POST", b.url+"/signin", strings.NewReader("token="+b.tokB),
			"Content-Type: application/x-www-form-urlencoded", "Origin: "+b.url)
		if r.status != 503 || r.header.Get("Retry-After") == "" {
			t.Errorf("B's 2nd sign-in in a table full of A's: status %d, Retry-After %q; want 503", r.status, r.header.Get("Retry-After"))
		}
		if r := do(t, cb, "GET", b.url+"/v1/reports", nil); r.status != 200 {
			t.Errorf("B's first session: status %d, want 200", r.status)
		}
		b.clock.Add(DefaultSessionTTL)
		b.signIn(t, b.client(t), b.tokB) // expired sessions make room
	})
	t.Run("per address and per token", func(t *testing.T) {
		b := setup(t, func(c *Config) { c.SignInBurst = 2; c.SignInEvery = time.Minute; c.MetricsAddr = "127.0.0.1:0" })
		local := b.clientFrom(t, "127.0.0.1")
		other := b.clientFrom(t, "127.0.0.2")
		signIn := func(c *http.Client, tok string) response {
			return do(t, c, "POST", b.url+"/signin", strings.NewReader("token="+tok),
				"Content-Type: application/x-www-form-urlencoded", "Origin: "+b.url)
		}
		for i, want := range []int{303, 303, 429} {
			if r := signIn(local, b.tokA); r.status != want {
				t.Errorf("A from .1, sign-in %d: status %d, want %d", i+1, r.status, want)
			}
		}
		if r := signIn(local, b.tokB); r.status != 429 || r.header.Get("Retry-After") != "60" {
			t.Errorf("B from .1 (address limited): status %d, Retry-After %q; want 429, 60", r.status, r.header.Get("Retry-After"))
		}
		if r := signIn(other, b.tokA); r.status != 429 {
			t.Errorf("A from .2 (token limited): status %d, want 429", r.status)
		}
		if r := signIn(other, b.tokB); r.status != 303 {
			t.Errorf("B from .2: status %d, want 303", r.status)
		}
		b.clock.Add(time.Minute)
		if r := signIn(local, b.tokA); r.status != 303 {
			t.Errorf("A from .1 a minute later: status %d, want 303", r.status)
		}
		m := do(t, local, "GET", "http://"+b.srv.MetricsAddr()+"/metrics", nil)
		for _, line := range []string{"usagereport_signin_rate_limited_total 3\n", "usagereport_auth_rate_limited_total 0\n", "usagereport_sessions 4\n"} {
			if !bytes.Contains(m.body, []byte(line)) {
				t.Errorf("metrics lack %q:\n%s", line, m.body)
			}
		}
	})
}

// flood signs in with tok n times from 8 connections at once, and counts
// the answers by status.
func flood(t *testing.T, b *bundle, tok string, n int) map[int]int {
	t.Helper()
	c := b.client(t)
	c.Jar = nil
	var mu sync.Mutex
	codes := map[int]int{}
	next := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range next {
				req, _ := http.NewRequest("POST", b.url+"/signin", strings.NewReader("token="+tok))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", b.url)
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					continue
				}
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	for range n {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	return codes
}

// clientFrom is client with connections from the loopback address ip
// (Linux answers all of 127.0.0.0/8).
func (b *bundle) clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	c := b.client(t)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := c.Transport.(*http.Transport)
	tr.DialContext = d.DialContext
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	return c
}

// TestEarlyTooLarge: a sign-in declaring a 100 MB body is refused 413 at
// once, the body never awaited, the connection closed.
func TestEarlyTooLarge(t *testing.T) {
	b := setup(t, nil)
	conn, err := net.Dial("tcp", b.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.SetDeadline(start.Add(5 * time.Second)) // the read time-out is 30 s
	fmt.Fprintf(conn, "POST /signin HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n\r\ntoken=", b.srv.Addr())
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer within 5 s: %v", err)
	}
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != http.StatusRequestEntityTooLarge || took > 2*time.Second {
		t.Errorf("status %d after %v; want 413 at once", resp.StatusCode, took)
	}
	if !resp.Close {
		t.Errorf("the connection stays open for a body that may never come")
	}
	// A form within the bound is still read.
	c := b.client(t)
	if r := do(t, c, "POST", b.url+"/signin", strings.NewReader("token="+strings.Repeat("x", 3000)),
		"Content-Type: application/x-www-form-urlencoded", "Origin: "+b.url); r.status != 401 {
		t.Errorf("a 3 KB form: status %d, want 401", r.status)
	}
}

// TestMetricsOff: without a metrics address there is no /metrics at all.
func TestMetricsOff(t *testing.T) {
	b := setup(t, nil)
	if a := b.srv.MetricsAddr(); a != "" {
		t.Errorf("metrics address %q by default, want none", a)
	}
	c := b.client(t)
	for _, h := range [][]string{nil, {bearer(b.tokA)}} {
		if r := do(t, c, "GET", b.url+"/metrics", nil, h...); r.status != 404 || bytes.Contains(r.body, []byte("usagereport_")) {
			t.Errorf("/metrics on the public address (%v): status %d, body %q", h, r.status, r.body)
		}
	}
}

// TestListLinkedFolder: an organisation folder that is a symbolic link,
// out of the reports folder or into another organisation's, lists as no
// reports (the same as no folder), its files answer 404, and the operator
// finds it in the log.
func TestListLinkedFolder(t *testing.T) {
	for _, target := range []string{"outside", "other organisation"} {
		t.Run(target, func(t *testing.T) {
			var log syncBuffer
			b := setup(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
			dirA := filepath.Join(b.reports, orgA.String())
			dest := filepath.Join(b.reports, orgB.String())
			if target == "outside" {
				dest = filepath.Join(filepath.Dir(b.reports), "elsewhere")
				if err := os.Rename(dirA, dest); err != nil {
					t.Fatal(err)
				}
			} else if err := os.RemoveAll(dirA); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(dest, dirA); err != nil {
				t.Fatal(err)
			}
			c := b.client(t)
			r := do(t, c, "GET", b.url+"/v1/reports", nil, bearer(b.tokA))
			var l reportList
			if err := json.Unmarshal(r.body, &l); r.status != 200 || err != nil || len(l.Reports) != 0 || l.Org != orgA.String() {
				t.Errorf("listing: status %d, %s; want 200 and no reports", r.status, r.body)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("listing Cache-Control %q, want no-store", cc)
			}
			for _, name := range []string{"2026-10.xlsx", "2026-11.parquet"} {
				if r := do(t, c, "GET", b.url+"/v1/reports/"+name, nil, bearer(b.tokA)); r.status != 404 {
					t.Errorf("GET %s through the link: status %d, want 404", name, r.status)
				}
			}
			b.signIn(t, c, b.tokA)
			if r := do(t, c, "GET", b.url+"/", nil); r.status != 200 || bytes.Contains(r.body, []byte("2026-")) {
				t.Errorf("page: status %d, or lists a report through the link:\n%s", r.status, r.body)
			}
			if !strings.Contains(log.String(), "organisation folder is not a plain folder") || !strings.Contains(log.String(), orgA.String()) {
				t.Errorf("log lacks the linked folder:\n%s", log.String())
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe to write from the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
