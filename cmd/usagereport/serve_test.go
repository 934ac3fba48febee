package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
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
