package ingest

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"

	ur "usagereport"
	"usagereport/embedded"
	"usagereport/fixtures"
)

var benchData = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	if err := fixtures.Generate(context.Background(), &b, fixtures.Config{Rows: 500_000, Seed: 42}); err != nil {
		panic(err)
	}
	return b.Bytes()
})

func benchmarkRead(b *testing.B, parallel bool) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p, _ := NewPseudonymizer(testKey)
		o, _ := NewOslo()
		r, err := NewReader(bytes.NewReader(data), "bench.csv", p, o)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if parallel {
			err = r.ReadAll(context.Background(), func(*ur.Record) error { n++; return nil }, func(*Rejection) {})
		} else {
			var rec ur.Record
			for err = r.Read(&rec); err == nil; err = r.Read(&rec) {
				n++
			}
			if err == io.EOF {
				err = nil
			}
		}
		if err != nil || n != 500_000 {
			b.Fatalf("read %d rows: %v", n, err)
		}
	}
}

// BenchmarkRead is the row-by-row reader on one core.
func BenchmarkRead(b *testing.B) { benchmarkRead(b, false) }

// BenchmarkReadAll is the parallel chunked reader.
func BenchmarkReadAll(b *testing.B) { benchmarkRead(b, true) }

// BenchmarkFile is the whole ingest of a file into a fresh embedded store:
// parsing, pseudonyms, the segment writer and the commit.
func BenchmarkFile(b *testing.B) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		p, _ := NewPseudonymizer(testKey)
		o, _ := NewOslo()
		st, err := embedded.Open(ctx, b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := File(ctx, st, bytes.NewReader(data), "bench.csv", p, o)
		if err != nil || res.Rows != 500_000 {
			b.Fatalf("ingest: %v", err)
		}
		st.Close()
	}
}
