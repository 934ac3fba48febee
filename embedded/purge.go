package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	ur "usagereport"
	"usagereport/internal/atomicfile"
)

// DeleteMonthsBefore deletes every record of the months before m. The
// ledger keeps its entries, so a purged file ingested again stays out.
func (s *Store) DeleteMonthsBefore(ctx context.Context, m ur.Month) (int64, error) {
	var deleted int64
	err := s.withLock(func() error {
		entries, err := os.ReadDir(filepath.Join(s.dir, "months"))
		if err != nil {
			return err
		}
		for _, e := range entries {
			em, err := ur.ParseMonth(e.Name())
			if err != nil || em >= m {
				continue
			}
			dir := filepath.Join(s.dir, "months", e.Name())
			segs, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			for _, seg := range segs {
				n, err := countFile(filepath.Join(dir, seg.Name()), em)
				if err != nil {
					return err
				}
				deleted += n
			}
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
		return atomicfile.SyncDir(filepath.Join(s.dir, "months"))
	})
	if err != nil {
		return deleted, fmt.Errorf("delete months before %s: %w", m, err)
	}
	return deleted, nil
}

func countFile(path string, m ur.Month) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := readSegment(f, m, nil)
	return n, damaged(filepath.Base(path), err)
}

// DeleteOrg deletes every record of org: each segment that holds some is
// rewritten without them and renamed over the old one, so a crash leaves
// each segment whole, old or new, and a second run finishes the job.
func (s *Store) DeleteOrg(ctx context.Context, org ur.Org) (int64, error) {
	var deleted int64
	err := s.withLock(func() error {
		ledger, err := s.ledger()
		if err != nil {
			return err
		}
		entries, err := os.ReadDir(filepath.Join(s.dir, "months"))
		if err != nil {
			return err
		}
		for _, e := range entries {
			m, err := ur.ParseMonth(e.Name())
			if err != nil {
				continue
			}
			segs, err := s.segments(m, ledger)
			if err != nil {
				return err
			}
			for _, path := range segs {
				if err := ctx.Err(); err != nil {
					return err
				}
				n, err := rewriteWithout(path, m, org)
				if err != nil {
					return err
				}
				deleted += n
			}
		}
		return nil
	})
	if err != nil {
		return deleted, fmt.Errorf("delete organisation %s: %w", org, err)
	}
	return deleted, nil
}

// rewriteWithout rewrites one segment without org's records, when it has any.
func rewriteWithout(path string, m ur.Month, org ur.Org) (int64, error) {
	var n int64
	if err := scanFile(path, m, func(r *ur.Record) error {
		if r.Org == org {
			n++
		}
		return nil
	}); err != nil || n == 0 {
		return 0, err
	}
	tmp := path + ".rewrite"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	w, err := newSegWriter(f)
	if err == nil {
		err = scanFile(path, m, func(r *ur.Record) error {
			if r.Org == org {
				return nil
			}
			return w.add(r, 0, 0)
		})
	}
	if err == nil {
		err = w.finish()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}
