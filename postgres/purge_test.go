package postgres

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

// countWhere counts the records of recs that keep returns true for.
func countWhere(recs []ur.Record, keep func(*ur.Record) bool) int64 {
	var n int64
	for i := range recs {
		if keep(&recs[i]) {
			n++
		}
	}
	return n
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	recs := genRecords(40_000, jan, feb, mar, apr)
	mustIngest(t, s, "a.csv", recs)

	n, err := s.DeleteMonthsBefore(ctx, mar)
	if err != nil {
		t.Fatal(err)
	}
	if want := countWhere(recs, func(r *ur.Record) bool { return r.Month < mar }); n != want {
		t.Errorf("DeleteMonthsBefore(%s) = %d, want %d", mar, n, want)
	}
	months, err := s.Months(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ur.Month{mar, apr}, months); diff != "" {
		t.Errorf("Months after purge (-want +got):\n%s", diff)
	}
	if ps, _ := s.partitions(ctx); len(ps) != 2 {
		t.Errorf("partitions after purge: %+v, want the 2 of %s and %s", ps, mar, apr)
	}
	if n, err := s.DeleteMonthsBefore(ctx, mar); err != nil || n != 0 {
		t.Errorf("second DeleteMonthsBefore = %d, %v; want 0, nil", n, err)
	}

	n, err = s.DeleteOrg(ctx, orgA)
	if err != nil {
		t.Fatal(err)
	}
	if want := countWhere(recs, func(r *ur.Record) bool { return r.Month >= mar && r.Org == orgA }); n != want {
		t.Errorf("DeleteOrg = %d, want %d", n, want)
	}
	var want []ur.Record
	for _, r := range recs {
		if r.Month >= mar && r.Org != orgA {
			want = append(want, r)
		}
	}
	sortRecords(want)
	if diff := diffRecords(want, scanAll(t, s)); diff != "" {
		t.Errorf("records left (-want +got):\n%s", diff)
	}
	// The ledger keeps the file: ingesting it again adds nothing back.
	if err := ingest(ctx, s, "a.csv", recs); !errors.Is(err, ur.ErrAlreadyIngested) {
		t.Errorf("ingest of a purged file: %v, want ErrAlreadyIngested", err)
	}
}

// TestPurgeBesideIngest runs a purge while an ingest has copied records
// into an old month and a new one and not committed yet. The purge waits
// for the old month's writer, the ingest commits whole, and at the end
// every old record is gone and every new one is there once.
func TestPurgeBesideIngest(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	old := genRecords(10_000, jan, feb)
	mustIngest(t, s, "old.csv", old)

	w, err := s.BeginFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs := genRecords(3*batchRows, jan, apr) // copied in several statements
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	type result struct {
		n   int64
		err error
	}
	purged := make(chan result, 1)
	go func() {
		n, err := s.DeleteMonthsBefore(ctx, mar)
		purged <- result{n, err}
	}()
	// Let the purge reach its lock wait on January; the ingest holds it.
	waitForLockWait(t, s)
	if err := w.Commit(ctx, fileMeta("new.csv", len(recs))); err != nil {
		t.Fatalf("Commit beside a purge: %v", err)
	}
	res := <-purged
	if res.err != nil {
		t.Fatal(res.err)
	}
	all := slices.Concat(old, recs)
	if want := countWhere(all, func(r *ur.Record) bool { return r.Month < mar }); res.n != want {
		t.Errorf("purge deleted %d, want %d (the old file's and the new file's old months)", res.n, want)
	}
	var want []ur.Record
	for _, r := range all {
		if r.Month >= mar {
			want = append(want, r)
		}
	}
	sortRecords(want)
	if diff := diffRecords(want, scanAll(t, s)); diff != "" {
		t.Errorf("records after purge and ingest (-want +got):\n%s", diff)
	}
	if got := countFiles(t, s); got != 2 {
		t.Errorf("ledger: %d files, want 2", got)
	}

	// A purge beside an ingest that only writes new months does not wait
	// for it, and the ingest commits whole.
	w, err = s.BeginFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	more := genRecords(2*batchRows, apr)
	for i := range more {
		if err := w.Add(&more[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteMonthsBefore(ctx, apr); err != nil {
		t.Fatalf("purge beside an ingest of a newer month: %v", err)
	}
	if err := w.Commit(ctx, fileMeta("more.csv", len(more))); err != nil {
		t.Fatal(err)
	}
	months, _ := s.Months(ctx)
	if diff := cmp.Diff([]ur.Month{apr}, months); diff != "" {
		t.Errorf("Months (-want +got):\n%s", diff)
	}
	if got, want := count(t, s), countWhere(all, func(r *ur.Record) bool { return r.Month >= apr })+int64(len(more)); got != want {
		t.Errorf("records: %d, want %d", got, want)
	}
}

// waitForLockWait waits until some backend of the test database waits for
// a heavyweight lock.
func waitForLockWait(t *testing.T, s *Store) {
	t.Helper()
	for range 5000 {
		var n int
		if err := s.pool.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		waitABit()
	}
	t.Fatal("the purge never waited for the ingest's lock")
}
