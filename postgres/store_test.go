package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	recs := genRecords(100_000, jan, feb, mar) // several COPY batches
	// The edges of DECIMAL(18,4), and values around a base-10000 digit.
	for i, c := range []ur.Amount{0, 1, -1, 9999, 10000, -10000, 10001, -30500, 1_0000_0000, 999_999_999_999_999_999, -999_999_999_999_999_999} {
		recs[i].Charge = c
	}
	mustIngest(t, s, "a.csv", recs)

	months, err := s.Months(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ur.Month{jan, feb, mar}, months); diff != "" {
		t.Errorf("Months (-want +got):\n%s", diff)
	}
	want := append([]ur.Record(nil), recs...)
	sortRecords(want)
	if diff := diffRecords(want, scanAll(t, s)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}

	files, err := s.Files(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("Files: got %d entries, want 1", len(files))
	}
	f := files[0]
	if f.Name != "a.csv" || f.SHA256 != fileMeta("a.csv", 0).SHA256 || f.Rows != int64(len(recs)) || f.IngestedAt.IsZero() {
		t.Errorf("Files[0] = %+v", f)
	}
}

func TestScanMonthStopsOnCallbackError(t *testing.T) {
	s, _ := mustOpen(t)
	mustIngest(t, s, "a.csv", genRecords(1000, jan))
	stop := errors.New("stop")
	n := 0
	err := s.ScanMonth(context.Background(), jan, func(*ur.Record) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Errorf("ScanMonth = %v after %d records, want stop after 10", err, n)
	}
	if err := s.ScanMonth(context.Background(), apr, func(*ur.Record) error { return errors.New("called") }); err != nil {
		t.Errorf("ScanMonth of a month without partition: %v", err)
	}
}

func TestSameFileTwice(t *testing.T) {
	s, _ := mustOpen(t)
	recs := genRecords(5000, jan, feb)
	mustIngest(t, s, "a.csv", recs)
	err := ingest(context.Background(), s, "a.csv", recs)
	if !errors.Is(err, ur.ErrAlreadyIngested) {
		t.Fatalf("second ingest: got %v, want ErrAlreadyIngested", err)
	}
	if got := count(t, s); got != int64(len(recs)) {
		t.Errorf("records: got %d, want %d", got, len(recs))
	}
	if got := countFiles(t, s); got != 1 {
		t.Errorf("ledger: got %d files, want 1", got)
	}
}

// TestConcurrentSameFile commits the same file from two writers at once:
// both have copied everything before either commits.
func TestConcurrentSameFile(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	recs := genRecords(50_000, jan, feb)
	const n = 2
	ws := make([]ur.FileWriter, n)
	for i := range ws {
		w, err := s.BeginFile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for j := range recs {
			if err := w.Add(&recs[j]); err != nil {
				t.Fatal(err)
			}
		}
		ws[i] = w
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() { errs[i] = w.Commit(ctx, fileMeta("a.csv", len(recs))) })
	}
	wg.Wait()
	ok, dup := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ur.ErrAlreadyIngested):
			dup++
		default:
			t.Errorf("Commit: %v", err)
		}
	}
	if ok != 1 || dup != n-1 {
		t.Errorf("commits: %d succeeded and %d already ingested, want 1 and %d", ok, dup, n-1)
	}
	if got := count(t, s); got != int64(len(recs)) {
		t.Errorf("records: got %d, want %d", got, len(recs))
	}
	if got := countFiles(t, s); got != 1 {
		t.Errorf("ledger: got %d files, want 1", got)
	}
}

func TestAbort(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	w, err := s.BeginFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs := genRecords(100_000, jan)
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if got := count(t, s); got != 0 {
		t.Errorf("records after Abort: %d, want 0", got)
	}
	// The connection went back to the pool in a usable state.
	mustIngest(t, s, "a.csv", recs[:10])
	if got := count(t, s); got != 10 {
		t.Errorf("records: %d, want 10", got)
	}
	if err := w.Commit(ctx, fileMeta("b.csv", 0)); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

// TestConnectionDroppedMidCopy terminates the writer's backend from a second
// connection while a COPY streams: nothing of the file may be visible, and
// ingesting it again completes it.
func TestConnectionDroppedMidCopy(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	mustIngest(t, s, "before.csv", genRecords(1000, jan))

	const n = 2_000_000 // far more than is copied before the kill
	w, err := s.BeginFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := w.(*fileWriter).conn.Conn().PgConn().PID()
	killed := make(chan error, 1)
	go func() {
		// Wait until the backend is in the middle of a COPY, then kill it.
		for {
			var q string
			err := s.pool.QueryRow(ctx, "SELECT coalesce(query, '') FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", pid).Scan(&q)
			if err == nil && strings.HasPrefix(strings.ToLower(q), "copy") {
				var ok bool
				killed <- s.pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var addErr error
	for i := 0; i < n && addErr == nil; i++ {
		r := genRecord(i, []ur.Month{feb, mar})
		addErr = w.Add(&r)
	}
	if err := <-killed; err != nil {
		t.Fatal(err)
	}
	err = addErr
	if err == nil {
		err = w.Commit(ctx, fileMeta("big.csv", n))
	} else {
		w.Abort()
	}
	if err == nil {
		t.Fatal("ingest succeeded although its connection was terminated")
	}
	t.Logf("ingest failed as it should: %v", err)
	if got := count(t, s); got != 1000 {
		t.Errorf("records after the failed ingest: %d, want the 1000 of before.csv", got)
	}
	if got := countFiles(t, s); got != 1 {
		t.Errorf("ledger after the failed ingest: %d files, want 1", got)
	}

	recs := make([]ur.Record, 200_000)
	for i := range recs {
		recs[i] = genRecord(i, []ur.Month{feb, mar})
	}
	mustIngest(t, s, "big.csv", recs)
	if got := count(t, s); got != 1000+int64(len(recs)) {
		t.Errorf("records after the rerun: %d, want %d", got, 1000+len(recs))
	}
}

func TestPartitionsOnDemand(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	parts := func() []ur.Month {
		ps, err := s.partitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ms []ur.Month
		for _, p := range ps {
			ms = append(ms, p.month)
			if p.name != partitionName(p.month) {
				t.Errorf("partition of %s is named %s", p.month, p.name)
			}
		}
		return ms
	}
	if got := parts(); len(got) != 0 {
		t.Fatalf("fresh store has partitions %v", got)
	}
	mustIngest(t, s, "jan.csv", genRecords(10, jan))
	if diff := cmp.Diff([]ur.Month{jan}, parts()); diff != "" {
		t.Errorf("partitions (-want +got):\n%s", diff)
	}

	// A month that first appears after several batches were copied in the
	// same transaction: its partition is attached from another connection
	// and the running transaction routes the next COPY into it.
	recs := genRecords(3*batchRows+5, feb)
	tail := genRecords(1000, mar)
	mustIngest(t, s, "feb-mar.csv", append(recs, tail...))
	if diff := cmp.Diff([]ur.Month{jan, feb, mar}, parts()); diff != "" {
		t.Errorf("partitions (-want +got):\n%s", diff)
	}
	if got, want := count(t, s), int64(10+len(recs)+len(tail)); got != want {
		t.Errorf("records: %d, want %d", got, want)
	}

	// Many writers racing to create the same new month.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = ingest(ctx, s, "apr-"+string(rune('a'+i)), genRecords(100, apr))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrent ingest of a new month: %v", err)
		}
	}
	if diff := cmp.Diff([]ur.Month{jan, feb, mar, apr}, parts()); diff != "" {
		t.Errorf("partitions (-want +got):\n%s", diff)
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	s, url := mustOpen(t)
	// Idempotent: a second Open applies nothing and fails on nothing.
	s2, err := Open(ctx, url, nil)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	s2.Close()
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

func TestConcurrentOpens(t *testing.T) {
	ctx := context.Background()
	url := mustURL(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range errs {
		wg.Go(func() {
			<-start
			s, err := Open(ctx, url, nil)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	s, err := Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, _ := migrations()
	var count int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", count, len(ms))
	}
}

func TestKey(t *testing.T) {
	ctx := context.Background()
	s, _ := mustOpen(t)
	k1, err := s.PseudonymKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := s.PseudonymKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 || string(k1) != string(k2) {
		t.Errorf("PseudonymKey gave %x then %x, want the same 32 bytes", k1, k2)
	}
	if err := s.CheckKey(ctx, "0123456789abcdef"); err != nil {
		t.Fatalf("first CheckKey: %v", err)
	}
	if err := s.CheckKey(ctx, "0123456789abcdef"); err != nil {
		t.Errorf("CheckKey with the same fingerprint: %v", err)
	}
	if err := s.CheckKey(ctx, "fedcba9876543210"); err == nil {
		t.Error("CheckKey accepted another key")
	}
}

// TestServerRestart restarts the server between ingest and report: the
// store reconnects and nothing is lost.
func TestServerRestart(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	s, err := Open(ctx, c.URL("postgres"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := genRecords(20_000, jan, feb)
	mustIngest(t, s, "a.csv", recs)
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	want := append([]ur.Record(nil), recs...)
	sortRecords(want)
	if diff := diffRecords(want, scanAll(t, s)); diff != "" {
		t.Errorf("records after restart (-want +got):\n%s", diff)
	}
}

// TestOpenErrorsHideThePassword: a URL's password never reaches an error.
func TestOpenErrorsHideThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, url := range []string{
		"postgres://user:s3cretPW@127.0.0.1:1/db?connect_timeout=2",
		"postgres://user:s3cretPW@127.0.0.1:notaport/db",
		"postgres://user:s3cretPW@127.0.0.1/db?sslmode=bogus",
	} {
		_, err := Open(ctx, url, nil)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), "s3cretPW") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}
