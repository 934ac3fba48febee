package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlocks returns the README's shell blocks marked for testing: a
// ```sh fence on the line after "<!-- readme-test -->".
func readmeBlocks(t *testing.T, readme string) []string {
	t.Helper()
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []string
	var cur *strings.Builder
	marked := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		case marked && line == "```sh":
			cur = &strings.Builder{}
			marked = false
		default:
			marked = strings.TrimSpace(line) == "<!-- readme-test -->"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestREADME runs scripts/demo into a temporary folder, then the README's
// marked command examples, as they are written, from a folder that looks
// like the repository after the demo (out/ and fixtures/). The one change
// is the server's port, 8080 in the README, here a free one.
func TestREADME(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the README's serve example needs curl (Debian's curl package)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, filepath.Join(root, "README.md"))
	if len(blocks) < 2 {
		t.Fatalf("README has %d blocks marked <!-- readme-test -->, want the commands and the serve example", len(blocks))
	}
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	demo := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "demo"), filepath.Join(work, "out"))
	if out, err := demo.CombinedOutput(); err != nil {
		t.Fatalf("scripts/demo: %v\n%s", err, out)
	}
	if err := os.Symlink(filepath.Join(root, "fixtures"), filepath.Join(work, "fixtures")); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	want := [][]string{
		{", go1.", "Usage:\n  usagereport report", "already ingested", "1 report written (2 files)", "0 disclosed", "would be stored"},
		{"added organisation 927489058", `"org":"927489058"`, `"month":"2026-11"`},
	}
	for i, block := range blocks {
		script := strings.ReplaceAll(block, "127.0.0.1:8080", "127.0.0.1:"+port)
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = work
		cmd.Env = readmeEnv()
		// Its own process group, so that a server it started is stopped
		// whatever happens.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Start()
		if err == nil {
			err = cmd.Wait()
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		if err != nil {
			t.Fatalf("README block %d: %v\n%s\noutput:\n%s", i+1, err, block, out.String())
		}
		if i < len(want) {
			for _, w := range want[i] {
				if !strings.Contains(out.String(), w) {
					t.Errorf("README block %d: output lacks %q:\n%s", i+1, w, out.String())
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(work, "927489058-2026-11.xlsx")); err != nil {
		t.Errorf("the serve example's download: %v", err)
	}
}

// readmeEnv is the test's environment less what would change the
// examples' results: a pseudonym key (the demo's store has its own).
func readmeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envKey+"=") && !strings.HasPrefix(kv, envRunMain+"=") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
