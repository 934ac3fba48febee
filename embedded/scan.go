package embedded

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	ur "usagereport"
)

// Months lists the months that hold committed records.
func (s *Store) Months(ctx context.Context) ([]ur.Month, error) {
	ledger, err := s.ledger()
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	entries, err := os.ReadDir(filepath.Join(s.dir, "months"))
	if err != nil {
		return nil, fmt.Errorf("list months: %w", err)
	}
	var out []ur.Month
	for _, e := range entries {
		m, err := ur.ParseMonth(e.Name())
		if err != nil {
			continue
		}
		segs, err := s.segments(m, ledger)
		if err != nil {
			return nil, err
		}
		if len(segs) > 0 {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out, nil
}

// segments lists the committed segment files of month m, in name order.
func (s *Store) segments(m ur.Month, ledger map[string]ledgerEntry) ([]string, error) {
	dir := filepath.Join(s.dir, "months", m.String())
	entries, _, err := readDirIfAny(dir) // none: no records of m
	if err != nil {
		return nil, fmt.Errorf("list month %s: %w", m, err)
	}
	var out []string
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".seg")
		if _, committed := ledger[id]; ok && committed {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// ScanMonth calls fn for every committed record of month m. It reads that
// month's segments only.
func (s *Store) ScanMonth(ctx context.Context, m ur.Month, fn func(*ur.Record) error) error {
	ledger, err := s.ledger()
	if err != nil {
		return fmt.Errorf("read ledger: %w", err)
	}
	segs, err := s.segments(m, ledger)
	if err != nil {
		return err
	}
	for _, path := range segs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := scanFile(path, m, fn); err != nil {
			return err
		}
	}
	return nil
}

// ScanMonthBatches is ScanMonth in columnar batches, one source per
// segment: the report's fast path.
func (s *Store) ScanMonthBatches(ctx context.Context, m ur.Month, fn func(*ur.Batch) error) error {
	ledger, err := s.ledger()
	if err != nil {
		return fmt.Errorf("read ledger: %w", err)
	}
	segs, err := s.segments(m, ledger)
	if err != nil {
		return err
	}
	return scanSegmentsBatches(ctx, m, segs, fn)
}

// scanSegmentsBatches reads the segments of month m in batches, one
// source per segment.
func scanSegmentsBatches(ctx context.Context, m ur.Month, segs []string, fn func(*ur.Batch) error) error {
	var bufs [2]ur.Batch
	for i, path := range segs {
		if err := ctx.Err(); err != nil {
			return err
		}
		for j := range bufs {
			bufs[j].Month, bufs[j].Source = m, i
		}
		if err := scanFileBatches(path, &bufs, fn); err != nil {
			return err
		}
	}
	return nil
}

func scanFileBatches(path string, bufs *[2]ur.Batch, fn func(*ur.Batch) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // purged while we listed
	}
	if err != nil {
		return fmt.Errorf("scan month %s: %w", bufs[0].Month, err)
	}
	defer f.Close()
	if err := readSegmentBatches(f, bufs, fn); err != nil {
		return damaged(filepath.Base(path), err)
	}
	return nil
}

func scanFile(path string, m ur.Month, fn func(*ur.Record) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // purged while we listed
	}
	if err != nil {
		return fmt.Errorf("scan month %s: %w", m, err)
	}
	defer f.Close()
	if _, err := readSegment(f, m, fn); err != nil {
		return damaged(filepath.Base(path), err)
	}
	return nil
}
