// Package flock takes and tests advisory locks on files (flock(2)). The
// kernel drops a lock when the process holding it dies, however it dies,
// so a lock file says whether its owner still runs.
package flock

import (
	"os"
	"syscall"
)

// Lock takes f's exclusive lock, waiting for it.
func Lock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

// TryLock takes f's exclusive lock if it is free, else returns an error at
// once.
func TryLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// Unlock releases f's lock.
func Unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// Held reports whether someone holds the lock of the file at path: its
// owner is alive. A file that cannot be opened is held by no one. A lock
// taken through another open file conflicts even within one process.
func Held(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := TryLock(f); err != nil {
		return true
	}
	Unlock(f)
	return false
}
