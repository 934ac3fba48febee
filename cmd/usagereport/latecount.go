package main

import (
	"context"
	"fmt"
	"sync/atomic"

	ur "usagereport"
)

// lateCountingStore counts, as an ingest stores them, the records of months
// already published for their organisation: they count in the
// organisation's next report (see ur.MonthOwner), and the ingest says so.
type lateCountingStore struct {
	ur.Store
	closed map[ur.Month]map[ur.Org]bool
	n      atomic.Int64 // records of committed files
}

// countLate wraps st when it holds publication records (a month is
// published); else it returns nil and st is used as it is.
func countLate(ctx context.Context, st ur.Backend) (*lateCountingStore, error) {
	pubs, err := st.Publications(ctx)
	if err != nil {
		return nil, err
	}
	if len(pubs) == 0 {
		return nil, nil
	}
	s := &lateCountingStore{Store: st, closed: make(map[ur.Month]map[ur.Org]bool)}
	for _, pub := range pubs {
		if s.closed[pub.Month] == nil {
			s.closed[pub.Month] = make(map[ur.Org]bool)
		}
		s.closed[pub.Month][pub.Org] = true
	}
	return s, nil
}

// summary is the ingest summary's line, or "" when there were none.
func (s *lateCountingStore) summary() string {
	if s == nil || s.n.Load() == 0 {
		return ""
	}
	return fmt.Sprintf("%d records for closed months will count in the next report\n", s.n.Load())
}

// BeginFile wraps the store's writer.
func (s *lateCountingStore) BeginFile(ctx context.Context) (ur.FileWriter, error) {
	w, err := s.Store.BeginFile(ctx)
	if err != nil {
		return nil, err
	}
	return &lateWriter{FileWriter: w, s: s, month: -1}, nil
}

type lateWriter struct {
	ur.FileWriter
	s     *lateCountingStore
	n     int64
	month ur.Month // of the last record: files are mostly one month
	orgs  map[ur.Org]bool
}

func (w *lateWriter) count(r *ur.Record) {
	if r.Month != w.month {
		w.month, w.orgs = r.Month, w.s.closed[r.Month]
	}
	if w.orgs != nil && w.orgs[r.Org] {
		w.n++
	}
}

func (w *lateWriter) Add(r *ur.Record) error {
	w.count(r)
	return w.FileWriter.Add(r)
}

func (w *lateWriter) Commit(ctx context.Context, meta ur.FileMeta) error {
	err := w.FileWriter.Commit(ctx, meta)
	if err == nil {
		w.s.n.Add(w.n)
	}
	return err
}

func (w *lateWriter) AddBatch(recs []ur.Record, subs, ccs []uint32) error {
	for i := range recs {
		w.count(&recs[i])
	}
	return w.FileWriter.AddBatch(recs, subs, ccs)
}
