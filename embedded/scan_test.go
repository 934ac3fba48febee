package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	ur "usagereport"
)

// batchStore makes a store with one segment of n records in October.
func batchStore(t *testing.T, n int) *Store {
	t.Helper()
	s := openTest(t, t.TempDir())
	var recs []ur.Record
	for i := range n {
		recs = append(recs, rec(ur.Org(974760673+i%3), oct, byte(i%251), ur.Amount(i)))
	}
	if err := ingestRecs(t, s, 1, recs...); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestScanMonthBatchesStopsOnError wants fn's error back, and no call of
// fn after it, while the next batch is being decoded.
func TestScanMonthBatchesStopsOnError(t *testing.T) {
	s := batchStore(t, 5*batchRows+3)
	stop := errors.New("stop")
	calls := 0
	err := s.ScanMonthBatches(context.Background(), oct, func(b *ur.Batch) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("error %v after %d calls, want %v after 2", err, calls, stop)
	}
}

// TestScanMonthBatchesDamaged cuts a segment short: the batches decoded
// whole before the cut arrive, then the error says the segment is damaged.
func TestScanMonthBatchesDamaged(t *testing.T) {
	s := batchStore(t, 5*batchRows+3)
	segs, err := filepath.Glob(filepath.Join(s.dir, "months", oct.String(), "*.seg"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v: %v", segs, err)
	}
	fi, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(segs[0], fi.Size()*3/4); err != nil {
		t.Fatal(err)
	}
	var rows []int
	err = s.ScanMonthBatches(context.Background(), oct, func(b *ur.Batch) error {
		rows = append(rows, b.Len())
		for i := range b.Len() {
			if b.Charge[i] != ur.Amount(len(rows)-1)*batchRows+ur.Amount(i) {
				t.Fatalf("batch %d row %d: charge %d", len(rows), i, b.Charge[i])
			}
		}
		return nil
	})
	if !errors.Is(err, errDamaged) {
		t.Errorf("error %v, want %v", err, errDamaged)
	}
	if len(rows) != 3 {
		t.Errorf("batches %v before the damage, want 3 of %d", rows, batchRows)
	}
	for _, n := range rows {
		if n != batchRows {
			t.Errorf("batches %v before the damage, want 3 of %d", rows, batchRows)
			break
		}
	}
}
