package flock

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	if Held(path) {
		t.Errorf("a missing file is held")
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if Held(path) {
		t.Errorf("an unlocked file is held")
	}
	if err := Lock(f); err != nil {
		t.Fatal(err)
	}
	if !Held(path) {
		t.Errorf("a locked file is not held")
	}
	g, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := TryLock(g); err == nil {
		t.Errorf("TryLock through another open file took a held lock")
	}
	if err := Unlock(f); err != nil {
		t.Fatal(err)
	}
	if Held(path) {
		t.Errorf("an unlocked file is held")
	}
	if err := TryLock(g); err != nil {
		t.Errorf("TryLock of a free lock: %v", err)
	}
}
