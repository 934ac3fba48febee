package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	ur "usagereport"
	"usagereport/internal/atomicfile"
	"usagereport/internal/flock"
)

// The store's FORMAT line. Version 2 keeps a publication record in one
// file (publications/<org>/YYYY-MM.vN.rec); version 1 kept it in two (.json
// and .cells). This build reads both. A version 1 store stays version 1
// until this build publishes a record into it, and then becomes version 2,
// so that an older build, which knows only version 1 and would not see the
// one-file records (and could publish their months again), refuses the
// store instead of misreading it.
const (
	formatLine   = "usagereport embedded store v2\n"
	formatLineV1 = "usagereport embedded store v1\n"
)

// Store is the embedded store in a folder.
type Store struct {
	dir    string
	logger *slog.Logger
	// v2 is set once FORMAT is known to say version 2.
	v2 atomic.Bool
}

var (
	_ ur.Backend          = (*Store)(nil)
	_ ur.BatchScanner     = (*Store)(nil)
	_ ur.BatchScannerUpTo = (*Store)(nil)
)

// Open opens the store in dir, creating it when dir does not exist or is
// empty, and removes what an interrupted ingest left behind.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{dir: dir, logger: logger}
	if err := s.init(); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if err := s.withLock(s.cleanUp); err != nil {
		return nil, fmt.Errorf("open store %s: clean up: %w", dir, err)
	}
	return s, nil
}

func (s *Store) init() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	format := filepath.Join(s.dir, "FORMAT")
	b, err := os.ReadFile(format)
	switch {
	case err == nil && string(b) == formatLine:
		s.v2.Store(true)
		return nil
	case err == nil && string(b) == formatLineV1:
		return nil
	case err == nil:
		return errors.New("the folder is not a usagereport store of a known format")
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	// A new store. Refuse a folder holding other things before touching
	// it; then create the store under the lock, so that two processes
	// opening the same new folder at once both succeed.
	if ok, err := onlyStoreFiles(s.dir); err != nil || !ok {
		if err == nil {
			// Another process may have finished making the store since
			// FORMAT was read: then it holds FORMAT and more.
			if b, ferr := os.ReadFile(format); ferr == nil && string(b) == formatLine {
				s.v2.Store(true)
				return nil
			}
			err = errors.New("the folder is not empty and not a usagereport store")
		}
		return err
	}
	return s.withLock(func() error {
		if _, err := os.Stat(format); err == nil {
			return s.readFormat() // the other process made it
		}
		if ok, err := onlyStoreFiles(s.dir); err != nil || !ok {
			if err == nil {
				err = errors.New("the folder is not empty and not a usagereport store")
			}
			return err
		}
		for _, d := range []string{"ledger", "months", "tmp"} {
			if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
				return err
			}
		}
		if err := atomicfile.WriteFile(format, []byte(formatLine), 0o600); err != nil {
			return err
		}
		s.v2.Store(true)
		return nil
	})
}

// readFormat notes whether FORMAT says version 2.
func (s *Store) readFormat() error {
	b, err := os.ReadFile(filepath.Join(s.dir, "FORMAT"))
	if err != nil {
		return err
	}
	s.v2.Store(string(b) == formatLine)
	return nil
}

// toV2 makes a version 1 store version 2, before the first one-file
// publication record is written into it. Called under the lock.
func (s *Store) toV2() error {
	if s.v2.Load() {
		return nil
	}
	format := filepath.Join(s.dir, "FORMAT")
	b, err := os.ReadFile(format)
	if err != nil {
		return err
	}
	switch string(b) {
	case formatLine:
	case formatLineV1:
		if err := atomicfile.WriteFile(format, []byte(formatLine), 0o600); err != nil {
			return fmt.Errorf("make the store version 2: %w", err)
		}
		s.logger.Info("store format upgraded to version 2: older builds of usagereport will refuse it", "store", s.dir)
	default:
		return errors.New("the folder is not a usagereport store of a known format")
	}
	s.v2.Store(true)
	return nil
}

// onlyStoreFiles reports whether dir holds nothing but what a store being
// created by another process may already hold.
func onlyStoreFiles(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		switch e.Name() {
		case "lock", "ledger", "months", "tmp":
		default:
			if !strings.HasPrefix(e.Name(), ".FORMAT.") {
				return false, nil
			}
		}
	}
	return true, nil
}

// withLock runs fn holding the store's exclusive lock.
func (s *Store) withLock(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := flock.Lock(f); err != nil {
		return fmt.Errorf("lock store: %w", err)
	}
	defer flock.Unlock(f)
	return fn()
}

// cleanUp removes segments without a ledger entry (a commit cut short) and
// staging folders whose ingest is gone. It runs under the lock.
func (s *Store) cleanUp() error {
	ledger, err := s.ledger()
	if err != nil {
		return err
	}
	months, err := os.ReadDir(filepath.Join(s.dir, "months"))
	if err != nil {
		return err
	}
	for _, m := range months {
		dir := filepath.Join(s.dir, "months", m.Name())
		segs, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, seg := range segs {
			id, ok := strings.CutSuffix(seg.Name(), ".seg")
			if _, committed := ledger[id]; ok && committed {
				continue
			}
			s.logger.Info("removing uncommitted segment", slog.String("month", m.Name()))
			if err := os.Remove(filepath.Join(dir, seg.Name())); err != nil {
				return err
			}
		}
	}
	tmps, err := os.ReadDir(filepath.Join(s.dir, "tmp"))
	if err != nil {
		return err
	}
	for _, t := range tmps {
		dir := filepath.Join(s.dir, "tmp", t.Name())
		if busy(dir) {
			continue // another process is ingesting into it
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	return nil
}

// busy reports whether a staging folder's owner still holds its lock.
func busy(dir string) bool { return flock.Held(filepath.Join(dir, "lock")) }

type ledgerEntry struct {
	Name       string    `json:"name"`
	SHA256     string    `json:"sha256"`
	Content    string    `json:"content,omitempty"` // hex FileMeta.Content; "" for none
	Rows       int64     `json:"rows"`
	Rejected   int64     `json:"rejected"`
	IngestedAt time.Time `json:"ingested_at"`
	Months     []string  `json:"months"`
	// Seq orders commits (see Publisher.LedgerSeq); 0 for files
	// committed before the store kept it.
	Seq int64 `json:"seq,omitempty"`
}

// ledger reads the ledger, keyed by hex hash.
func (s *Store) ledger() (map[string]ledgerEntry, error) {
	dir := filepath.Join(s.dir, "ledger")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]ledgerEntry, len(entries))
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		var le ledgerEntry
		if ok, err := readJSON(filepath.Join(dir, e.Name()), &le); err != nil {
			return nil, fmt.Errorf("ledger entry: %w", err)
		} else if ok {
			out[id] = le
		}
	}
	return out, nil
}

// Files lists the ledger, oldest first.
func (s *Store) Files(ctx context.Context) ([]ur.FileMeta, error) {
	l, err := s.ledger()
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	var out []ur.FileMeta
	for id, le := range l {
		fm := ur.FileMeta{Name: le.Name, Rows: le.Rows, Rejected: le.Rejected, IngestedAt: le.IngestedAt}
		if c, err := hex.DecodeString(le.Content); err == nil && len(c) == 32 {
			copy(fm.Content[:], c)
		}
		b, err := hex.DecodeString(id)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("read ledger: bad entry name %s", id)
		}
		copy(fm.SHA256[:], b)
		out = append(out, fm)
	}
	slices.SortFunc(out, func(a, b ur.FileMeta) int {
		if c := a.IngestedAt.Compare(b.IngestedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// PseudonymKey returns the store's key, creating a random one with mode
// 0600 on first use.
func (s *Store) PseudonymKey(ctx context.Context) ([]byte, error) {
	path := filepath.Join(s.dir, "pseudonym.key")
	var key []byte
	err := s.withLock(func() error {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			key = make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return err
			}
			return atomicfile.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600)
		}
		if err != nil {
			return err
		}
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("%s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
		}
		key, err = hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 32 {
			return fmt.Errorf("%s does not hold a hex key of 32 bytes or more", path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pseudonym key: %w", err)
	}
	return key, nil
}

// CheckKey refuses a key other than the one the stored records were
// pseudonymised with: mixing keys would count one subscriber twice. The
// first call records the key's fingerprint.
func (s *Store) CheckKey(ctx context.Context, fingerprint string) error {
	path := filepath.Join(s.dir, "key.fingerprint")
	return s.withLock(func() error {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return atomicfile.WriteFile(path, []byte(fingerprint+"\n"), 0o600)
		}
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(b)) != fingerprint {
			return errors.New("the pseudonym key differs from the one this store's records were made with")
		}
		return nil
	})
}

// Close releases nothing: every operation opens and closes its files.
func (s *Store) Close() error { return nil }
