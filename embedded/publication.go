package embedded

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	ur "usagereport"
	"usagereport/internal/atomicfile"
)

// nextSeq gives the next ledger sequence. It runs under the lock, before
// the ledger entry that carries it is written: a crash in between leaves a
// gap, never a number used twice, and the counter survives a purge of the
// files that had the highest numbers.
func (s *Store) nextSeq() (int64, error) {
	n, err := s.readSeq()
	if err != nil {
		return 0, err
	}
	n++
	if err := atomicfile.WriteFile(filepath.Join(s.dir, "ledger.seq"), []byte(strconv.FormatInt(n, 10)+"\n"), 0o600); err != nil {
		return 0, err
	}
	return n, nil
}

func (s *Store) readSeq() (int64, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "ledger.seq"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ledger.seq: %w", err)
	}
	return n, nil
}

// LedgerSeq returns the last ledger sequence given out. Commits hand out
// numbers under the lock, so every file with a number up to it is
// committed or never will be.
func (s *Store) LedgerSeq(ctx context.Context) (int64, error) {
	var n int64
	err := s.withLock(func() (err error) {
		n, err = s.readSeq()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read ledger sequence: %w", err)
	}
	return n, nil
}

// segmentsSeq lists month m's committed segments of files with a sequence
// in (after, upTo], with their sequences.
func (s *Store) segmentsSeq(m ur.Month, after, upTo int64) ([]string, []int64, error) {
	ledger, err := s.ledger()
	if err != nil {
		return nil, nil, fmt.Errorf("read ledger: %w", err)
	}
	segs, err := s.segments(m, ledger)
	if err != nil {
		return nil, nil, err
	}
	var paths []string
	var seqs []int64
	for _, path := range segs {
		le := ledger[strings.TrimSuffix(filepath.Base(path), ".seg")]
		if le.Seq > after && le.Seq <= upTo {
			paths, seqs = append(paths, path), append(seqs, le.Seq)
		}
	}
	return paths, seqs, nil
}

// ScanMonthSeq calls fn for every record of month m from a file with a
// ledger sequence in (after, upTo].
func (s *Store) ScanMonthSeq(ctx context.Context, m ur.Month, after, upTo int64, fn func(*ur.Record, int64) error) error {
	segs, seqs, err := s.segmentsSeq(m, after, upTo)
	if err != nil {
		return err
	}
	for i, path := range segs {
		if err := ctx.Err(); err != nil {
			return err
		}
		seq := seqs[i]
		if err := scanFile(path, m, func(r *ur.Record) error { return fn(r, seq) }); err != nil {
			return err
		}
	}
	return nil
}

// ScanMonthBatchesUpTo is ScanMonthBatches over the files with a ledger
// sequence at most upTo.
func (s *Store) ScanMonthBatchesUpTo(ctx context.Context, m ur.Month, upTo int64, fn func(*ur.Batch) error) error {
	segs, _, err := s.segmentsSeq(m, -1, upTo)
	if err != nil {
		return err
	}
	return scanSegmentsBatches(ctx, m, segs, fn)
}

// pubEntry is a publication record's file, without its cells.
type pubEntry struct {
	Org          ur.Org    `json:"org"`
	Month        string    `json:"month"`
	Version      int       `json:"version"`
	MinGroupSize int       `json:"min_group_size"`
	DominanceP   float64   `json:"dominance_p"`
	Format       string    `json:"format"`
	PublishedAt  time.Time `json:"published_at"`
	Covered      int64     `json:"covered_ledger_seq"`
	LateEvents   int64     `json:"late_events"`
	Reason       string    `json:"reason,omitempty"`
	Digest       string    `json:"sha256_cells"`
}

func (e pubEntry) publication() (ur.Publication, error) {
	m, err := ur.ParseMonth(e.Month)
	if err != nil {
		return ur.Publication{}, err
	}
	p := ur.Publication{Org: e.Org, Month: m, Version: e.Version, MinGroupSize: e.MinGroupSize, DominanceP: e.DominanceP,
		Format: e.Format, PublishedAt: e.PublishedAt, Covered: e.Covered, LateEvents: e.LateEvents, Reason: e.Reason}
	d, err := hex.DecodeString(e.Digest)
	if err != nil || len(d) != 32 {
		return ur.Publication{}, errors.New("bad digest")
	}
	copy(p.Digest[:], d)
	return p, nil
}

func (s *Store) pubPath(org ur.Org, m ur.Month, version int, ext string) string {
	return filepath.Join(s.dir, "publications", org.String(), fmt.Sprintf("%s.v%d.%s", m, version, ext))
}

// Publications lists every publication record, without cells.
func (s *Store) Publications(ctx context.Context) ([]ur.Publication, error) {
	root := filepath.Join(s.dir, "publications")
	orgs, _, err := readDirIfAny(root) // none yet: no records
	if err != nil {
		return nil, fmt.Errorf("list publications: %w", err)
	}
	var out []ur.Publication
	for _, o := range orgs {
		files, err := os.ReadDir(filepath.Join(root, o.Name()))
		if err != nil {
			return nil, fmt.Errorf("list publications: %w", err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), ".json") || strings.HasPrefix(f.Name(), ".") {
				continue
			}
			var e pubEntry
			ok, err := readJSON(filepath.Join(root, o.Name(), f.Name()), &e)
			if err != nil {
				return nil, fmt.Errorf("list publications: organisation %s: %w", o.Name(), err)
			}
			if !ok {
				continue // deleted while we listed
			}
			p, err := e.publication()
			if err != nil {
				return nil, fmt.Errorf("publication record %s/%s: %w", o.Name(), f.Name(), err)
			}
			out = append(out, p)
		}
	}
	slices.SortFunc(out, comparePublications)
	return out, nil
}

func comparePublications(a, b ur.Publication) int {
	switch {
	case a.Org != b.Org:
		return int(int64(a.Org) - int64(b.Org))
	case a.Month != b.Month:
		return int(a.Month - b.Month)
	}
	return a.Version - b.Version
}

// Publication reads one version with its cells.
func (s *Store) Publication(ctx context.Context, org ur.Org, m ur.Month, version int) (ur.Publication, error) {
	var e pubEntry
	ok, err := readJSON(s.pubPath(org, m, version, "json"), &e)
	if err != nil {
		return ur.Publication{}, fmt.Errorf("read publication %s %s v%d: %w", org, m, version, err)
	}
	if !ok {
		return ur.Publication{}, ur.ErrNotPublished
	}
	p, err := e.publication()
	if err != nil {
		return ur.Publication{}, fmt.Errorf("read publication %s %s v%d: %w", org, m, version, err)
	}
	enc, err := os.ReadFile(s.pubPath(org, m, version, "cells"))
	if err != nil {
		return ur.Publication{}, fmt.Errorf("read publication %s %s v%d: %w", org, m, version, err)
	}
	if p.Cells, err = ur.DecodeCheckedCells(enc, p.Digest); err != nil {
		return ur.Publication{}, fmt.Errorf("read publication %s %s v%d: %w", org, m, version, err)
	}
	return p, nil
}

// Publish writes the cells, then the record's JSON file, which commits it,
// under the store's lock.
func (s *Store) Publish(ctx context.Context, p *ur.Publication) error {
	enc := ur.EncodeCells(p.Cells)
	e := pubEntry{Org: p.Org, Month: p.Month.String(), Version: p.Version, MinGroupSize: p.MinGroupSize, DominanceP: p.DominanceP,
		Format: p.Format, PublishedAt: p.PublishedAt.UTC(), Covered: p.Covered, LateEvents: p.LateEvents, Reason: p.Reason,
		Digest: hex.EncodeToString(p.Digest[:])}
	if ur.Digest(enc) != p.Digest {
		return fmt.Errorf("publish %s %s v%d: the digest does not match the cells", p.Org, p.Month, p.Version)
	}
	jsonPath := s.pubPath(p.Org, p.Month, p.Version, "json")
	err := s.withLock(func() error {
		if _, err := os.Stat(jsonPath); err == nil {
			return ur.ErrPublished
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(jsonPath), 0o700); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(s.pubPath(p.Org, p.Month, p.Version, "cells"), enc, 0o600); err != nil {
			return err
		}
		return writeJSON(jsonPath, e, "  ")
	})
	if err != nil && !errors.Is(err, ur.ErrPublished) {
		return fmt.Errorf("publish %s %s v%d: %w", p.Org, p.Month, p.Version, err)
	}
	return err
}

// DeletePublications deletes every publication record of org.
func (s *Store) DeletePublications(ctx context.Context, org ur.Org) (int, error) {
	dir := filepath.Join(s.dir, "publications", org.String())
	n := 0
	err := s.withLock(func() error {
		files, ok, err := readDirIfAny(dir)
		if !ok || err != nil {
			return err
		}
		for _, f := range files {
			if strings.HasSuffix(f.Name(), ".json") && !strings.HasPrefix(f.Name(), ".") {
				n++
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		return atomicfile.SyncDir(filepath.Dir(dir))
	})
	if err != nil {
		return 0, fmt.Errorf("delete publications of %s: %w", org, err)
	}
	return n, nil
}

// DeletePublicationsBefore deletes the publication records of the months
// before m, of every organisation.
func (s *Store) DeletePublicationsBefore(ctx context.Context, m ur.Month) (int, error) {
	root := filepath.Join(s.dir, "publications")
	n := 0
	err := s.withLock(func() error {
		orgs, ok, err := readDirIfAny(root)
		if !ok || err != nil {
			return err
		}
		for _, o := range orgs {
			dir := filepath.Join(root, o.Name())
			files, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			// The JSON files first: without one its cells are no record,
			// while a record without its cells could not be read.
			for _, ext := range []string{".json", ".cells"} {
				for _, f := range files {
					pm, err := ur.ParseMonth(strings.SplitN(f.Name(), ".", 2)[0])
					if err != nil || pm >= m || !strings.HasSuffix(f.Name(), ext) {
						continue
					}
					if ext == ".json" {
						n++
					}
					if err := os.Remove(filepath.Join(dir, f.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
						return err
					}
				}
			}
			if err := atomicfile.SyncDir(dir); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete publications before %s: %w", m, err)
	}
	return n, nil
}

// readDirIfAny lists dir, in name order; ok is false, with no error, when
// dir does not exist.
func readDirIfAny(dir string) (entries []os.DirEntry, ok bool, err error) {
	entries, err = os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return entries, err == nil, err
}
