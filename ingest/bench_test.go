package ingest

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

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

// threadCPU returns the CPU time of the calling thread: a benchmark on a
// shared machine that locks its goroutine to its thread and reports this
// (see cpuMetric) is not thrown by neighbours taking the cores in turn.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// cpuMetric runs fn b.N times (by b.Loop) on one locked thread and
// reports its CPU time per op as "cpu-ns/op".
func cpuMetric(b *testing.B, fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, n := threadCPU(), 0
	for b.Loop() {
		fn()
		n++
	}
	b.ReportMetric(float64(threadCPU()-start)/float64(n), "cpu-ns/op")
}
