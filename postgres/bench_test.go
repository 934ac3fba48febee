package postgres

import (
	"context"
	"flag"
	"fmt"
	"testing"

	ur "usagereport"
)

var bench10M = flag.Bool("bench-10m", false, "add a 10 million row case to BenchmarkIngest")

// BenchmarkIngest measures a file's ingest through BeginFile, Add and
// Commit: binary COPY in batches, one transaction. Reports rows/s.
//
//	go test ./postgres -run '^$' -bench Ingest -benchtime 3x [-bench-10m]
func BenchmarkIngest(b *testing.B) {
	sizes := []int{10_000, 100_000, 1_000_000}
	if *bench10M {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			benchmarkIngest(b, n)
		})
	}
}

func benchmarkIngest(b *testing.B, n int) {
	ctx := context.Background()
	s, _ := mustOpen(b)
	months := []ur.Month{jan}
	// The partition exists before the clock starts, as it does for all but
	// the first file of a month.
	mustIngest(b, s, "warm-up", genRecords(10, jan))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		w, err := s.BeginFile(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var r ur.Record // one variable: Add copies it
		for j := range n {
			r = genRecord(j, months)
			if err := w.Add(&r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Commit(ctx, fileMeta(fmt.Sprintf("f%d", i), n)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkScanMonth measures streaming one month out. Reports rows/s.
func BenchmarkScanMonth(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			ctx := context.Background()
			s, _ := mustOpen(b)
			w, err := s.BeginFile(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for j := range n {
				r := genRecord(j, []ur.Month{jan})
				if err := w.Add(&r); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Commit(ctx, fileMeta("a", n)); err != nil {
				b.Fatal(err)
			}
			if _, err := s.pool.Exec(ctx, "VACUUM ANALYZE records"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var sum int64
				if err := s.ScanMonth(ctx, jan, func(r *ur.Record) error {
					sum += r.DurationS
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
