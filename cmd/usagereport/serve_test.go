package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"usagereport/internal/pgtest"
)

// syncBuffer is a bytes.Buffer safe to read while the server writes to it.
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

// TestServeCommand: token create prints a token once, serve answers it
// with the organisation's report, revoke shuts it out, audit-log shows it
// all, and the server stops on its context's end.
func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	store, reports := filepath.Join(dir, "store"), filepath.Join(dir, "reports")
	mustRun(t, "init", "--store", store)
	mustRun(t, "org", "add", "--store", store, "--org", "974760673", "--name", "Acme AS")
	if r := run(t, nil, "token", "create", "--store", store, "--org", "923609016"); r.code != ExitFailure || !strings.Contains(r.stderr, "not in the registry") {
		t.Errorf("token for an unregistered organisation: exit %d, stderr %q", r.code, r.stderr)
	}
	r := run(t, nil, "token", "create", "--store", store, "--org", "974760673", "--name", "finance")
	token := strings.TrimSpace(r.stdout)
	if r.code != ExitOK || len(token) != 43 {
		t.Fatalf("token create: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(store, "tokens.json")); bytes.Contains(b, []byte(token)) {
		t.Errorf("the store holds the token in clear")
	}
	if l := mustRun(t, "token", "list", "--store", store).stdout; !regexp.MustCompile(`(?m)^1 +974760673 +finance +\S+ +-$`).MatchString(l) {
		t.Errorf("token list:\n%s", l)
	}
	report := []byte("PAR1 not really parquet")
	os.MkdirAll(filepath.Join(reports, "974760673"), 0o755)
	os.WriteFile(filepath.Join(reports, "974760673", "974760673-2026-11.parquet"), report, 0o644)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stderr syncBuffer
	e := &Env{Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: time.Now,
		Logger: slog.New(slog.NewTextHandler(&stderr, nil))}
	exited := make(chan int, 1)
	go func() {
		exited <- Main(ctx, []string{"serve", "--store", store, "--reports", reports, "--addr", "127.0.0.1:0"}, e)
	}()
	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	get := func(tok string) (int, []byte) {
		req, _ := http.NewRequest("GET", base+"/v1/reports/2026-11.parquet", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, body := get(token); code != 200 || !bytes.Equal(body, report) {
		t.Errorf("download: status %d, body %q", code, body)
	}
	mustRun(t, "token", "revoke", "--store", store, "1")
	if code, _ := get(token); code != 401 {
		t.Errorf("download with the revoked token: status %d, want 401", code)
	}
	tr.CloseIdleConnections()
	stop()
	select {
	case code := <-exited:
		if code != ExitOK {
			t.Errorf("serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop with its context")
	}
	log := mustRun(t, "audit-log", "--store", store).stdout
	for _, re := range []string{
		`(?m)^\S+ +974760673 +974760673-2026-11\.parquet +downloaded +127\.0\.0\.1$`,
		`(?m)^\S+ +- +- +failed authentication +127\.0\.0\.1$`,
	} {
		if !regexp.MustCompile(re).MatchString(log) {
			t.Errorf("audit-log lacks a line matching %s:\n%s", re, log)
		}
	}
	if l := mustRun(t, "audit-log", "--store", store, "--since", "2999-01-01").stdout; strings.Count(l, "\n") != 1 {
		t.Errorf("audit-log --since the future:\n%s", l)
	}
	if r := run(t, nil, "audit-log", "--store", store, "--since", "yesterday"); r.code != ExitUsage {
		t.Errorf("audit-log --since yesterday: exit %d, want %d", r.code, ExitUsage)
	}
}

// startServe runs serve in process until the test ends and returns its
// base URL and its metrics address's.
func startServe(t *testing.T, args ...string) (base, metrics string) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var stderr syncBuffer
	e := &Env{Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: time.Now,
		Logger: slog.New(slog.NewTextHandler(&stderr, nil))}
	exited := make(chan int, 1)
	go func() { exited <- Main(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), e) }()
	t.Cleanup(func() {
		stop()
		if code := <-exited; code != ExitOK {
			t.Errorf("serve exited %d: %s", code, stderr.String())
		}
	})
	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	metricsOn := regexp.MustCompile(`metrics on (http://127\.0\.0\.1:\d+)/metrics`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
			if m := metricsOn.FindStringSubmatch(stderr.String()); m != nil {
				metrics = m[1]
			}
			return base, metrics
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
	}
}

// TestServeRefusesRemovedOrg is the red team's first finding on both
// stores, against the running server: after 'org remove', the
// organisation's token and its page session are refused at once, the
// other organisation is served still, and an organisation whose agreement
// ended more than the retention period ago is refused too, in the audit
// log. Downloads and listings are not to be stored by a browser, and
// /metrics is only on its own address.
func TestServeRefusesRemovedOrg(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"embedded": func(t *testing.T) string { return filepath.Join(t.TempDir(), "store") },
		"postgres": func(t *testing.T) string { return pgtest.Database(t, postgresServer(t)) },
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			store, reports := newStore(t), t.TempDir()
			mustRun(t, "init", "--store", store)
			const a, b = "974760673", "923609016"
			tokens := map[string]string{}
			for _, org := range []string{a, b} {
				mustRun(t, "org", "add", "--store", store, "--org", org, "--name", "Org "+org)
				tokens[org] = strings.TrimSpace(mustRun(t, "token", "create", "--store", store, "--org", org).stdout)
				os.MkdirAll(filepath.Join(reports, org), 0o755)
				os.WriteFile(filepath.Join(reports, org, org+"-2026-11.parquet"), []byte("PAR1 "+org), 0o644)
			}
			base, metrics := startServe(t, "--store", store, "--reports", reports, "--metrics-addr", "127.0.0.1:0")
			if metrics == "" {
				t.Fatal("serve did not say where the metrics are")
			}
			tr := &http.Transport{}
			t.Cleanup(tr.CloseIdleConnections)
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Transport: tr, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			get := func(path, tok string) *http.Response {
				t.Helper()
				req, _ := http.NewRequest("GET", path, nil)
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			for _, path := range []string{"/v1/reports/2026-11.parquet", "/v1/reports"} {
				if r := get(base+path, tokens[a]); r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("GET %s: status %d, Cache-Control %q; want 200, no-store", path, r.StatusCode, r.Header.Get("Cache-Control"))
				}
			}
			if r := get(base+"/metrics", ""); r.StatusCode != 404 {
				t.Errorf("/metrics on the public address: status %d, want 404", r.StatusCode)
			}
			if r := get(metrics+"/metrics", ""); r.StatusCode != 200 {
				t.Errorf("/metrics on the metrics address: status %d, want 200", r.StatusCode)
			}
			req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader("token="+tokens[a]))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
			resp, err := c.Do(req)
			if err != nil || resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign in: %v %v", resp, err)
			}
			resp.Body.Close()
			if r := get(base+"/v1/reports/2026-11.parquet", ""); r.StatusCode != 200 {
				t.Fatalf("session before the removal: status %d", r.StatusCode)
			}

			r := mustRun(t, "org", "remove", "--store", store, "--org", a)
			if !strings.Contains(r.stdout, "revoked its access tokens") {
				t.Errorf("org remove: %s", r.stdout)
			}
			if r := get(base+"/v1/reports/2026-11.parquet", tokens[a]); r.StatusCode != 401 {
				t.Errorf("the removed organisation's token: status %d, want 401", r.StatusCode)
			}
			if r := get(base+"/v1/reports/2026-11.parquet", ""); r.StatusCode != 401 {
				t.Errorf("the removed organisation's session: status %d, want 401", r.StatusCode)
			}
			if l := mustRun(t, "token", "list", "--store", store, "--org", a).stdout; !regexp.MustCompile(`(?m)^1 +974760673 +\S+ +\d{4}-\d\d-\d\d`).MatchString(l) {
				t.Errorf("token list after the removal shows no revocation:\n%s", l)
			}
			if r := get(base+"/v1/reports/2026-11.parquet", tokens[b]); r.StatusCode != 200 {
				t.Errorf("the other organisation: status %d, want 200", r.StatusCode)
			}
			// B's agreement ended in January 2020: more than the 6 months'
			// retention ago, so purge would have deleted its records.
			mustRun(t, "org", "set", "--store", store, "--org", b, "--agreement-end", "2020-01-31")
			if r := get(base+"/v1/reports/2026-11.parquet", tokens[b]); r.StatusCode != 401 {
				t.Errorf("an organisation past retention: status %d, want 401", r.StatusCode)
			}
			log := mustRun(t, "audit-log", "--store", store).stdout
			for _, re := range []string{
				`(?m)^\S+ +974760673 +- +signed in +127\.0\.0\.1$`,
				`(?m)^\S+ +923609016 +- +organisation not served +127\.0\.0\.1$`,
			} {
				if !regexp.MustCompile(re).MatchString(log) {
					t.Errorf("audit-log lacks a line matching %s:\n%s", re, log)
				}
			}
		})
	}
}
