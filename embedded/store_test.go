package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	ur "usagereport"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func rec(org ur.Org, m ur.Month, sub byte, charge ur.Amount) ur.Record {
	return ur.Record{Org: org, Month: m, Subscriber: ur.Pseudonym{sub}, CostCentre: "Sales", Service: ur.Data, Zone: ur.EUEEA, VolumeBytes: 5, Charge: charge}
}

func scanAll(t *testing.T, s *Store, m ur.Month) []ur.Record {
	t.Helper()
	var out []ur.Record
	if err := s.ScanMonth(context.Background(), m, func(r *ur.Record) error {
		out = append(out, *r)
		return nil
	}); err != nil {
		t.Fatalf("ScanMonth: %v", err)
	}
	return out
}

const org = ur.Org(974760673)

var oct, nov = ur.MonthOf(2026, 10), ur.MonthOf(2026, 11)

func ingestRecs(t *testing.T, s *Store, sha byte, recs ...ur.Record) error {
	t.Helper()
	ctx := context.Background()
	w, err := s.BeginFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	return w.Commit(ctx, ur.FileMeta{Name: "f.csv", SHA256: [32]byte{sha}, Rows: int64(len(recs))})
}

func TestRoundTripAndLedger(t *testing.T) {
	s := openTest(t, t.TempDir())
	a := rec(org, oct, 1, 12500)
	b := rec(org, nov, 2, -300)
	b.CostCentre = ""
	if err := ingestRecs(t, s, 1, a, b, a); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, s, oct); len(got) != 2 || got[0] != a || got[1] != a {
		t.Errorf("October: got %+v", got)
	}
	if got := scanAll(t, s, nov); len(got) != 1 || got[0] != b {
		t.Errorf("November: got %+v", got)
	}
	months, err := s.Months(context.Background())
	if err != nil || len(months) != 2 || months[0] != oct || months[1] != nov {
		t.Errorf("Months = %v, %v", months, err)
	}
	// The same content again changes nothing.
	if err := ingestRecs(t, s, 1, a); !errors.Is(err, ur.ErrAlreadyIngested) {
		t.Errorf("second commit of the same hash: got %v, want ErrAlreadyIngested", err)
	}
	if got := scanAll(t, s, oct); len(got) != 2 {
		t.Errorf("after the second ingest October has %d records, want 2", len(got))
	}
	files, err := s.Files(context.Background())
	if err != nil || len(files) != 1 || files[0].Rows != 3 {
		t.Errorf("Files = %+v, %v", files, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.dir, "tmp")); len(entries) != 0 {
		t.Errorf("staging left behind: %v", entries)
	}
}

func TestUncommittedIsInvisibleAndCleanedUp(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := context.Background()
	w, err := s.BeginFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := rec(org, oct, 1, 1)
	w.Add(&r)
	// A process killed before its commit: the staging folder stays, its
	// lock goes with the process.
	fw := w.(*fileWriter)
	for _, seg := range fw.segs {
		seg.w.finish()
		seg.f.Close()
	}
	fw.lock.Close()
	// A process killed between renaming a segment and writing the ledger.
	orphan := filepath.Join(dir, "months", oct.String(), "ab.seg")
	os.MkdirAll(filepath.Dir(orphan), 0o700)
	os.WriteFile(orphan, []byte(segMagic), 0o600)

	if got := scanAll(t, s, oct); len(got) != 0 {
		t.Errorf("uncommitted records visible: %v", got)
	}
	s = openTest(t, dir)
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Errorf("Open left staging behind: %v", entries)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("Open left an uncommitted segment behind")
	}
	if months, _ := s.Months(ctx); len(months) != 0 {
		t.Errorf("Months = %v, want none", months)
	}
}

func TestBusyStagingSurvivesOpen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	w, err := s.BeginFile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	openTest(t, dir) // another process opening the store meanwhile
	r := rec(org, oct, 1, 1)
	if err := w.Add(&r); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(context.Background(), ur.FileMeta{SHA256: [32]byte{9}}); err != nil {
		t.Fatalf("commit after a concurrent Open: %v", err)
	}
	if got := scanAll(t, s, oct); len(got) != 1 {
		t.Errorf("got %d records, want 1", len(got))
	}
}

func TestPurge(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	other := ur.Org(923609016)
	if err := ingestRecs(t, s, 1, rec(org, oct, 1, 1), rec(other, oct, 2, 1), rec(org, nov, 1, 1)); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteOrg(ctx, org)
	if err != nil || n != 2 {
		t.Errorf("DeleteOrg = %d, %v; want 2", n, err)
	}
	if got := scanAll(t, s, oct); len(got) != 1 || got[0].Org != other {
		t.Errorf("after DeleteOrg October holds %+v", got)
	}
	n, err = s.DeleteMonthsBefore(ctx, nov)
	if err != nil || n != 1 {
		t.Errorf("DeleteMonthsBefore = %d, %v; want 1", n, err)
	}
	if months, _ := s.Months(ctx); len(months) != 1 || months[0] != nov {
		t.Errorf("Months = %v, want [2026-11]", months)
	}
	// A purged file stays ingested: it does not come back.
	if err := ingestRecs(t, s, 1, rec(org, oct, 1, 1)); !errors.Is(err, ur.ErrAlreadyIngested) {
		t.Errorf("re-ingest after purge: %v", err)
	}
}

func TestKey(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := context.Background()
	k1, err := s.PseudonymKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("PseudonymKey = %x, %v", k1, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "pseudonym.key"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	k2, _ := openTest(t, dir).PseudonymKey(ctx)
	if string(k1) != string(k2) {
		t.Errorf("key changed between opens")
	}
	os.Chmod(filepath.Join(dir, "pseudonym.key"), 0o644)
	if _, err := s.PseudonymKey(ctx); err == nil {
		t.Errorf("a key readable by others was used")
	}
	if err := s.CheckKey(ctx, "aaaa"); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckKey(ctx, "aaaa"); err != nil {
		t.Errorf("same fingerprint refused: %v", err)
	}
	if err := s.CheckKey(ctx, "bbbb"); err == nil {
		t.Errorf("another key's fingerprint accepted")
	}
}

func TestNotAStore(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600)
	if _, err := Open(context.Background(), dir, nil); err == nil {
		t.Errorf("a folder with other files was taken as a store")
	}
}

// TestPseudonymsSharingAPrefix checks the segment writer's fast index on
// pseudonyms whose first 8 bytes are equal.
func TestPseudonymsSharingAPrefix(t *testing.T) {
	s := openTest(t, t.TempDir())
	a, b, c := rec(org, oct, 1, 1), rec(org, oct, 1, 2), rec(org, oct, 1, 3)
	b.Subscriber[15] = 1
	c.Subscriber[8] = 9
	if err := ingestRecs(t, s, 1, a, b, c, b, a, c); err != nil {
		t.Fatal(err)
	}
	got := scanAll(t, s, oct)
	want := []ur.Pseudonym{a.Subscriber, b.Subscriber, c.Subscriber, b.Subscriber, a.Subscriber, c.Subscriber}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Subscriber != want[i] {
			t.Errorf("record %d: subscriber %x, want %x", i, got[i].Subscriber, want[i])
		}
	}
}

func TestConcurrentOpenOfANewFolder(t *testing.T) {
	for range 20 {
		dir := filepath.Join(t.TempDir(), "store")
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				_, err := Open(context.Background(), dir, nil)
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatalf("concurrent Open: %v", err)
			}
		}
	}
}

func TestScanMonthBatchesMatchesScanMonth(t *testing.T) {
	s := openTest(t, t.TempDir())
	var recs []ur.Record
	for i := range 3*batchRows + 17 {
		r := rec(ur.Org(974760673+i%2), oct, byte(i%251), ur.Amount(i))
		r.CostCentre = []string{"", "Sales", "IT"}[i%3]
		recs = append(recs, r)
	}
	if err := ingestRecs(t, s, 1, recs[:100]...); err != nil {
		t.Fatal(err)
	}
	if err := ingestRecs(t, s, 2, recs[100:]...); err != nil {
		t.Fatal(err)
	}
	want := scanAll(t, s, oct)
	var got []ur.Record
	sources := map[int]bool{}
	err := s.ScanMonthBatches(context.Background(), oct, func(b *ur.Batch) error {
		sources[b.Source] = true
		for i := range b.Len() {
			var r ur.Record
			b.Record(i, &r)
			got = append(got, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) || len(sources) != 2 {
		t.Fatalf("got %d records from %d sources, want %d from 2", len(got), len(sources), len(recs))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d: batches %+v, records %+v", i, got[i], want[i])
		}
	}
}
