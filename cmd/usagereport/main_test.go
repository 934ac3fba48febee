package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

// envRunMain makes the test binary act as the program, so that tests can
// run it as a process and kill it.
const envRunMain = "USAGEREPORT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		os.Exit(runProcess(os.Args[1:], NewEnv()))
	}
	os.Exit(m.Run())
}

// testKey is the pseudonym key every test run uses, so that outputs are
// stable; a store's own key is tested in the embedded package.
const testKey = "0707070707070707070707070707070707070707070707070707070707070707"

var testNow = time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)

type result struct {
	code           int
	stdout, stderr string
}

// testEnv is the program's environment in a test: its clock at now, the
// test pseudonym key, the variables of env, and output kept in buffers.
func testEnv(env map[string]string, now time.Time) (e *Env, stdout, stderr *bytes.Buffer) {
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	e = &Env{
		Stdout: stdout,
		Stderr: stderr,
		Getenv: func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			if k == envKey {
				return testKey
			}
			return ""
		},
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	}
	return e, stdout, stderr
}

// run runs the program in process.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runIn(testEnv(env, testNow))(args...)
}

// runAt runs the program in process with its clock at now.
func runAt(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	return runIn(testEnv(nil, now))(args...)
}

// runIn runs the program in e, whose output goes to stdout and stderr.
func runIn(e *Env, stdout, stderr *bytes.Buffer) func(args ...string) result {
	return func(args ...string) result {
		code := Main(context.Background(), args, e)
		return result{code, stdout.String(), stderr.String()}
	}
}

func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := run(t, nil, args...)
	if r.code != ExitOK {
		t.Fatalf("usagereport %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", "org_number,subscriber,start_time,service,charge\n974760673,+4791234567,2026-10-03T14:22:05+02:00,sms,1\n974760673,+47,2026-10-03T14:22:05+02:00,sms,1\n")
	refused := writeFile(t, dir, "refused.csv", "org_number,subscriber\n974760673,+4791234567\n")
	store := dir + "/store"
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no command", nil, ExitUsage, ""},
		{"unknown command", []string{"frobnicate"}, ExitUsage, "unknown command"},
		{"help", []string{"ingest", "--help"}, ExitOK, ""},
		{"no store", []string{"ingest", good}, ExitUsage, "--store is required"},
		{"no files", []string{"ingest", "--store", store}, ExitUsage, "no files"},
		{"rejected rows are not a failure", []string{"ingest", "--store", store, good}, ExitOK, "1 row stored, 1 rejected"},
		{"a refused file is, and the others still go in", []string{"ingest", "--store", store, refused, good}, ExitFailure, "1 of 2 files refused"},
		{"missing file", []string{"ingest", "--store", store, dir + "/nope.csv"}, ExitFailure, "nope.csv"},
		{"bad month", []string{"report", "--store", store, "--month", "2026-13", "--out", dir}, ExitUsage, "YYYY-MM"},
		{"k below the floor", []string{"report", "--store", store, "--month", "2026-10", "--out", dir, "--min-group", "2"}, ExitUsage, "at least 3"},
		{"bad org", []string{"report", "--store", store, "--month", "2026-10", "--out", dir, "--org", "123"}, ExitUsage, "organisation number"},
		{"unknown format", []string{"report", "--store", store, "--month", "2026-10", "--out", dir, "--format", "pdf"}, ExitUsage, "unknown format"},
		{"report of an org below k", []string{"report", "--store", store, "--month", "2026-10", "--out", dir}, ExitOK, "974760673 2026-10: withheld"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout+r.stderr, tt.out) {
				t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", tt.out, r.stdout, r.stderr)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	path := dir + "/" + name
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAllFiles returns every file under dir with its content.
func readAllFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := walkFiles(dir, func(path string, r io.Reader) error {
		b, err := io.ReadAll(r)
		out[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRegistryMinGroupSize checks that an organisation's own k from the
// registry applies to its report, above the run's.
func TestRegistryMinGroupSize(t *testing.T) {
	dir := t.TempDir()
	store := dir + "/store"
	var b strings.Builder
	b.WriteString("org_number,subscriber,start_time,service,charge\n")
	for i := range 6 {
		fmt.Fprintf(&b, "974760673,+479000000%d,2026-10-03T14:22:05+02:00,sms,1\n", i)
		fmt.Fprintf(&b, "974760673,+479000000%d,2026-11-03T14:22:05+01:00,sms,1\n", i)
	}
	file := writeFile(t, dir, "six.csv", b.String())
	mustRun(t, "ingest", "--store", store, file)
	r := mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", dir+"/out")
	if !strings.Contains(r.stdout, "1 report written") {
		t.Fatalf("six subscribers, k 5: %s", r.stdout)
	}
	mustRun(t, "org", "add", "--store", store, "--org", "974760673", "--name", "Acme AS", "--min-group", "7")
	r = mustRun(t, "report", "--store", store, "--month", "2026-11", "--out", dir+"/out2")
	if !strings.Contains(r.stdout, "974760673 2026-11: withheld: fewer than 7 subscribers") {
		t.Errorf("six subscribers, the organisation's own k 7: %s", r.stdout)
	}
	// October was published with k 5 and stays as it was.
	r = mustRun(t, "report", "--store", store, "--month", "2026-10", "--out", dir+"/out2")
	if !strings.Contains(r.stdout, "974760673 2026-10: published earlier on 2026-12-02 (version 1), written from the record") {
		t.Errorf("a published month after the registry raised k: %s", r.stdout)
	}
}
