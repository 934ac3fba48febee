package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	ur "usagereport"
	"usagereport/embedded"
	"usagereport/fixtures"
)

// TestKillDuringIngest kills a real ingest process in the middle of a file
// and checks that nothing of the file is visible, then that a rerun stores
// the whole file once and a third run stores nothing.
func TestKillDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 300,000-row file")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "big.csv")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	if err := fixtures.Generate(context.Background(), bw, fixtures.Config{Rows: 300_000, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	f.Close()
	store := filepath.Join(dir, "store")

	cmd := exec.Command(os.Args[0], "ingest", "--store", store, file)
	cmd.Env = append(os.Environ(), envRunMain+"=1", envKey+"="+testKey)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the process has staged records, then kill it.
	deadline := time.Now().Add(30 * time.Second)
	for !staged(store) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the ingest never staged records")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	state, _ := cmd.Process.Wait()
	if state.Success() {
		t.Fatal("the ingest finished before the kill; the test proves nothing")
	}
	if n := countRecords(t, store); n != 0 {
		t.Fatalf("after the kill %d records are visible, want 0", n)
	}
	r := mustRun(t, "ingest", "--store", store, file)
	if !strings.Contains(r.stdout, "big.csv: 300000 rows stored") {
		t.Errorf("rerun:\n%s", r.stdout)
	}
	if n := countRecords(t, store); n != 300_000 {
		t.Errorf("after the rerun %d records, want 300000", n)
	}
	r = mustRun(t, "ingest", "--store", store, file)
	if !strings.Contains(r.stdout, "already ingested") {
		t.Errorf("third run:\n%s", r.stdout)
	}
	if n := countRecords(t, store); n != 300_000 {
		t.Errorf("after the third run %d records, want 300000", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(store, "tmp")); len(entries) != 0 {
		t.Errorf("staging left behind after the rerun: %d folders", len(entries))
	}
}

// staged reports whether some staged segment has grown past its header.
func staged(store string) bool {
	segs, _ := filepath.Glob(filepath.Join(store, "tmp", "*", "*.seg"))
	for _, s := range segs {
		if fi, err := os.Stat(s); err == nil && fi.Size() > 64<<10 {
			return true
		}
	}
	return false
}

func countRecords(t *testing.T, dir string) int {
	t.Helper()
	ctx := context.Background()
	s, err := embedded.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	months, err := s.Months(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range months {
		if err := s.ScanMonth(ctx, m, func(*ur.Record) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return n
}
