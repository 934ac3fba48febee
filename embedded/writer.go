package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	ur "usagereport"
	"usagereport/internal/atomicfile"
	"usagereport/internal/flock"
)

// fileWriter stages one file's records under tmp/<id>/, a segment per
// month, holding tmp/<id>/lock so that clean-up leaves it alone.
type fileWriter struct {
	s     *Store
	dir   string
	lock  *os.File
	segs  map[ur.Month]*stagedSeg
	done  bool
	month ur.Month
	cur   *stagedSeg
	// touched keeps what AddBatch read ahead, so that the reads stay.
	touched uint32
	// recent finds a month's segment without the map, by the month's
	// last two bits: a file's rows alternate between a few months, and a
	// map lookup at each change (every other row of our generator's
	// files) cost more than the row's encoding.
	recent [4]recentSeg
}

type recentSeg struct {
	month ur.Month
	seg   *stagedSeg
}

// seg returns month's segment, nil if w has none yet.
func (w *fileWriter) seg(month ur.Month) *stagedSeg {
	r := &w.recent[month&3]
	if r.seg != nil && r.month == month {
		return r.seg
	}
	seg := w.segs[month]
	if seg != nil {
		*r = recentSeg{month, seg}
	}
	return seg
}

type stagedSeg struct {
	f *os.File
	w *segWriter
}

// BeginFile starts staging a file's records.
func (s *Store) BeginFile(ctx context.Context) (ur.FileWriter, error) {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.dir, "tmp", fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(id)))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("stage ingest: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("stage ingest: %w", err)
	}
	if err := flock.Lock(lock); err != nil {
		lock.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("stage ingest: lock: %w", err)
	}
	return &fileWriter{s: s, dir: dir, lock: lock, segs: make(map[ur.Month]*stagedSeg), month: -1}, nil
}

func (w *fileWriter) Add(r *ur.Record) error { return w.AddWithIDs(r, 0, 0) }

// AddWithIDs is Add for a record whose subscriber and cost centre the
// caller's run has numbered: sub stands for r.Subscriber, and for no other
// pseudonym, in every record added to w with it, and r.Subscriber comes
// with sub alone, or always with 0 (no id); cc for r.CostCentre likewise.
// The segment writer then finds them by indexing a slice, and keeps
// neither pseudonym nor name for them. The ids are never written: the
// segment is the same as Add makes.
func (w *fileWriter) AddWithIDs(r *ur.Record, sub, cc uint32) error {
	if r.Month != w.month || w.cur == nil {
		seg := w.seg(r.Month)
		if seg == nil {
			f, err := os.OpenFile(filepath.Join(w.dir, r.Month.String()+".seg"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("stage month %s: %w", r.Month, err)
			}
			sw, err := newSegWriter(f)
			if err != nil {
				f.Close()
				return fmt.Errorf("stage month %s: %w", r.Month, err)
			}
			seg = &stagedSeg{f: f, w: sw}
			w.segs[r.Month] = seg
		}
		w.month, w.cur = r.Month, seg
	}
	if err := w.cur.w.add(r, sub, cc); err != nil {
		return fmt.Errorf("stage month %s: %w", r.Month, err)
	}
	return nil
}

// AddBatch is AddWithIDs for recs[i], subs[i] and ccs[i] in turn. It first
// reads where each record's segment keeps its subscriber's id and its
// organisation's index (thousands of organisations fill more than the
// cache), in a loop
// whose reads do not depend on one another, so that the processor waits
// for those cache misses together rather than one a record.
func (w *fileWriter) AddBatch(recs []ur.Record, subs, ccs []uint32) error {
	var sum uint32
	month, seg := w.month, w.cur
	for i := range recs {
		if m := recs[i].Month; m != month || seg == nil {
			month, seg = m, w.seg(m)
			if seg == nil {
				continue
			}
		}
		sum += seg.w.bySub.get(subs[i]) + seg.w.orgs.touch(recs[i].Org)
	}
	w.touched += sum
	for i := range recs {
		if err := w.AddWithIDs(&recs[i], subs[i], ccs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Commit finishes the segments, then under the store's lock renames them
// into place and writes the ledger entry, which makes them visible.
func (w *fileWriter) Commit(ctx context.Context, meta ur.FileMeta) error {
	months := make([]ur.Month, 0, len(w.segs))
	for m, seg := range w.segs {
		if err := seg.w.finish(); err != nil {
			return fmt.Errorf("finish month %s: %w", m, err)
		}
		if err := seg.f.Sync(); err != nil {
			return fmt.Errorf("sync month %s: %w", m, err)
		}
		if err := seg.f.Close(); err != nil {
			return fmt.Errorf("close month %s: %w", m, err)
		}
		months = append(months, m)
	}
	slices.Sort(months)
	if err := ctx.Err(); err != nil {
		return err
	}
	id := hex.EncodeToString(meta.SHA256[:])
	ledgerPath := filepath.Join(w.s.dir, "ledger", id+".json")
	var content string
	if meta.Content != [32]byte{} {
		content = hex.EncodeToString(meta.Content[:])
	}
	err := w.s.withLock(func() error {
		if err := w.s.seen(id, content); err != nil {
			return err
		}
		seq, err := w.s.nextSeq()
		if err != nil {
			return err
		}
		le := ledgerEntry{Name: meta.Name, SHA256: id, Content: content, Rows: meta.Rows, Rejected: meta.Rejected, IngestedAt: meta.IngestedAt, Seq: seq}
		if le.IngestedAt.IsZero() {
			le.IngestedAt = time.Now().UTC()
		}
		for _, m := range months {
			dst := filepath.Join(w.s.dir, "months", m.String())
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return err
			}
			if err := os.Rename(filepath.Join(w.dir, m.String()+".seg"), filepath.Join(dst, id+".seg")); err != nil {
				return err
			}
			if err := atomicfile.SyncDir(dst); err != nil {
				return err
			}
			le.Months = append(le.Months, m.String())
		}
		return writeJSON(ledgerPath, le, "  ")
	})
	w.Abort()
	if err != nil && !errors.Is(err, ur.ErrAlreadyIngested) {
		return fmt.Errorf("commit: %w", err)
	}
	return err
}

// seen returns an *ur.AlreadyIngestedError when the ledger has the file
// with hex hash id, or a file with the same content digest (content, ""
// for none), and nil when it has neither. The caller holds the store's
// lock.
func (s *Store) seen(id, content string) error {
	var le ledgerEntry
	switch ok, err := readJSON(filepath.Join(s.dir, "ledger", id+".json"), &le); {
	case err != nil:
		return fmt.Errorf("ledger entry: %w", err)
	case ok:
		return &ur.AlreadyIngestedError{Name: le.Name, IngestedAt: le.IngestedAt, SameBytes: true}
	case content == "":
		return nil
	}
	// The ledger holds one entry per file ingested: a few thousand at
	// most, read once per commit.
	l, err := s.ledger()
	if err != nil {
		return err
	}
	var first *ledgerEntry
	for _, le := range l {
		if le.Content == content && (first == nil || le.IngestedAt.Before(first.IngestedAt)) {
			first = &le
		}
	}
	if first != nil {
		return &ur.AlreadyIngestedError{Name: first.Name, IngestedAt: first.IngestedAt}
	}
	return nil
}

// Abort removes the staging folder and releases its lock.
func (w *fileWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	for _, seg := range w.segs {
		seg.f.Close()
	}
	err := os.RemoveAll(w.dir)
	w.lock.Close()
	return err
}
