package embedded

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
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
			if !isRecordFile(f.Name()) {
				continue
			}
			var e pubEntry
			path := filepath.Join(root, o.Name(), f.Name())
			var ok bool
			if strings.HasSuffix(f.Name(), ".rec") {
				ok, err = readRecordHeader(path, &e)
			} else {
				ok, err = readJSON(path, &e)
			}
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

// A publication record is one file, YYYY-MM.vN.rec: its entry (pubEntry)
// as indented JSON and a newline, then its cells (ur.EncodeCells), which
// the entry's digest covers. Written whole and renamed into place, the one
// file is the commit. Stores written before 6 December 2026 hold records
// as two files, YYYY-MM.vN.json (the entry, the commit) and
// YYYY-MM.vN.cells (written and made durable before it): they are read,
// listed and deleted as before, and a version is published once in
// whichever form.

// isRecordFile reports whether name is a publication record's committed
// file: a .rec, or the .json of an older two-file record.
func isRecordFile(name string) bool {
	return !strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".rec") || strings.HasSuffix(name, ".json"))
}

// readRecordHeader decodes the entry of the record file at path into e,
// reading no more of the file than the entry needs, and reports whether
// the file exists.
func readRecordHeader(path string, e *pubEntry) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := json.NewDecoder(bufio.NewReaderSize(f, 4096)).Decode(e); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return true, nil
}

// splitRecord splits the bytes of a record file into its entry and its
// encoded cells.
func splitRecord(b []byte) (pubEntry, []byte, error) {
	var e pubEntry
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&e); err != nil {
		return e, nil, err
	}
	rest := b[dec.InputOffset():]
	if len(rest) == 0 || rest[0] != '\n' {
		return e, nil, errors.New("no newline after the record's entry")
	}
	return e, rest[1:], nil
}

// Publication reads one version with its cells.
func (s *Store) Publication(ctx context.Context, org ur.Org, m ur.Month, version int) (ur.Publication, error) {
	p, err := s.publication(org, m, version)
	if err != nil && !errors.Is(err, ur.ErrNotPublished) {
		return ur.Publication{}, fmt.Errorf("read publication %s %s v%d: %w", org, m, version, err)
	}
	return p, err
}

func (s *Store) publication(org ur.Org, m ur.Month, version int) (ur.Publication, error) {
	var e pubEntry
	var enc []byte
	b, err := os.ReadFile(s.pubPath(org, m, version, "rec"))
	switch {
	case err == nil:
		if e, enc, err = splitRecord(b); err != nil {
			return ur.Publication{}, fmt.Errorf("%s: %w", filepath.Base(s.pubPath(org, m, version, "rec")), err)
		}
	case errors.Is(err, fs.ErrNotExist):
		// A record of the older two-file form, or none.
		ok, err := readJSON(s.pubPath(org, m, version, "json"), &e)
		if err != nil {
			return ur.Publication{}, err
		}
		if !ok {
			return ur.Publication{}, ur.ErrNotPublished
		}
		if enc, err = os.ReadFile(s.pubPath(org, m, version, "cells")); err != nil {
			return ur.Publication{}, err
		}
	default:
		return ur.Publication{}, err
	}
	p, err := e.publication()
	if err != nil {
		return ur.Publication{}, err
	}
	if p.Cells, err = ur.DecodeCheckedCells(enc, p.Digest); err != nil {
		return ur.Publication{}, err
	}
	return p, nil
}

// Publish writes the record's one file, which commits it, under the
// store's lock: into a temporary file, synced, renamed into place and the
// folder synced. A crash leaves the whole record or none.
func (s *Store) Publish(ctx context.Context, p *ur.Publication) error {
	enc := ur.EncodeCells(p.Cells)
	e := pubEntry{Org: p.Org, Month: p.Month.String(), Version: p.Version, MinGroupSize: p.MinGroupSize, DominanceP: p.DominanceP,
		Format: p.Format, PublishedAt: p.PublishedAt.UTC(), Covered: p.Covered, LateEvents: p.LateEvents, Reason: p.Reason,
		Digest: hex.EncodeToString(p.Digest[:])}
	if ur.Digest(enc) != p.Digest {
		return fmt.Errorf("publish %s %s v%d: the digest does not match the cells", p.Org, p.Month, p.Version)
	}
	head, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("publish %s %s v%d: %w", p.Org, p.Month, p.Version, err)
	}
	rec := make([]byte, 0, len(head)+1+len(enc))
	rec = append(append(append(rec, head...), '\n'), enc...)
	recPath := s.pubPath(p.Org, p.Month, p.Version, "rec")
	err = s.withLock(func() error {
		// The version may be published in either form.
		for _, path := range []string{recPath, s.pubPath(p.Org, p.Month, p.Version, "json")} {
			if _, err := os.Stat(path); err == nil {
				return ur.ErrPublished
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if err := s.toV2(); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(recPath), 0o700); err != nil {
			return err
		}
		return atomicfile.WriteFile(recPath, rec, 0o600)
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
			if isRecordFile(f.Name()) {
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
			// The records' files first (a .rec, or an older record's
			// .json), then the older records' cells: without its .json
			// a .cells is no record, while a .json without its cells
			// could not be read.
			for _, ext := range []string{".rec", ".json", ".cells"} {
				for _, f := range files {
					pm, err := ur.ParseMonth(strings.SplitN(f.Name(), ".", 2)[0])
					if err != nil || pm >= m || !strings.HasSuffix(f.Name(), ext) {
						continue
					}
					if ext != ".cells" {
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
