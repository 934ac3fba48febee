package postgres

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"usagereport/internal/pgtest"

	ur "usagereport"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// mustOpen opens a store on a fresh database, closed when the test ends.
func mustOpen(tb testing.TB) (*Store, string) {
	tb.Helper()
	url := pgtest.URL(tb)
	s, err := Open(context.Background(), url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, url
}

// The months the tests use.
var (
	jan = ur.MonthOf(2026, 1)
	feb = ur.MonthOf(2026, 2)
	mar = ur.MonthOf(2026, 3)
	apr = ur.MonthOf(2026, 4)
)

// Organisation numbers with valid check digits.
const (
	orgA ur.Org = 974760673
	orgB ur.Org = 923609016
)

// genRecord returns the i-th record of a deterministic file: the fields vary
// with i, charges are negative now and then, cost centres repeat.
func genRecord(i int, months []ur.Month) ur.Record {
	r := ur.Record{
		Org:         []ur.Org{orgA, orgB}[i%2],
		Month:       months[i%len(months)],
		CostCentre:  []string{"", "Sales", "Drift og støtte", "R&D, \"lab\""}[i%4],
		Service:     ur.Service(i % ur.NumServices),
		Zone:        ur.Zone(i / 7 % ur.NumZones),
		DurationS:   int64(i % 3600),
		VolumeBytes: int64(i) * 1031,
		Charge:      ur.Amount(int64(i)*12345 - 40000),
	}
	binary.BigEndian.PutUint64(r.Subscriber[:], uint64(i%1000))
	r.Subscriber[15] = byte(i % 7)
	return r
}

func genRecords(n int, months ...ur.Month) []ur.Record {
	out := make([]ur.Record, n)
	for i := range out {
		out[i] = genRecord(i, months)
	}
	return out
}

func fileMeta(name string, n int) ur.FileMeta {
	return ur.FileMeta{Name: name, SHA256: sha256.Sum256([]byte(name)), Rows: int64(n)}
}

// ingest writes recs as one file named name.
func ingest(ctx context.Context, s *Store, name string, recs []ur.Record) error {
	w, err := s.BeginFile(ctx)
	if err != nil {
		return err
	}
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Commit(ctx, fileMeta(name, len(recs)))
}

func mustIngest(tb testing.TB, s *Store, name string, recs []ur.Record) {
	tb.Helper()
	if err := ingest(context.Background(), s, name, recs); err != nil {
		tb.Fatalf("ingest %s: %v", name, err)
	}
}

// scanAll reads every month's records, in a canonical order.
func scanAll(tb testing.TB, s *Store) []ur.Record {
	tb.Helper()
	ctx := context.Background()
	months, err := s.Months(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var out []ur.Record
	for _, m := range months {
		if err := s.ScanMonth(ctx, m, func(r *ur.Record) error {
			out = append(out, *r)
			return nil
		}); err != nil {
			tb.Fatal(err)
		}
	}
	sortRecords(out)
	return out
}

func sortRecords(rs []ur.Record) {
	slices.SortFunc(rs, func(a, b ur.Record) int {
		return cmp.Or(
			cmp.Compare(a.Org, b.Org),
			cmp.Compare(a.Month, b.Month),
			bytes.Compare(a.Subscriber[:], b.Subscriber[:]),
			cmp.Compare(a.CostCentre, b.CostCentre),
			cmp.Compare(a.Service, b.Service),
			cmp.Compare(a.Zone, b.Zone),
			cmp.Compare(a.DurationS, b.DurationS),
			cmp.Compare(a.VolumeBytes, b.VolumeBytes),
			cmp.Compare(a.Charge, b.Charge),
		)
	})
}

// diffRecords compares two sorted record lists; cmp.Diff only when they
// differ, since it is slow on a hundred thousand records.
func diffRecords(want, got []ur.Record) string {
	if slices.Equal(want, got) {
		return ""
	}
	if len(want) != len(got) {
		return fmt.Sprintf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			return fmt.Sprintf("first difference at %d:\n%s", i, gocmp.Diff(want[i], got[i]))
		}
	}
	return ""
}

// count returns the number of records in the store.
func count(tb testing.TB, s *Store) int64 {
	tb.Helper()
	var n int64
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM records").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func countFiles(tb testing.TB, s *Store) int {
	tb.Helper()
	fs, err := s.Files(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return len(fs)
}

func mustURL(tb testing.TB) string { return pgtest.URL(tb) }

func newCluster(tb testing.TB) *pgtest.Cluster { return pgtest.NewCluster(tb) }

// waitABit paces a loop that polls the server for a state another
// connection is about to reach.
func waitABit() { time.Sleep(time.Millisecond) }
