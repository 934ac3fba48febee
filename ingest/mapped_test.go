//go:build linux

package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
	"usagereport/embedded"
)

// The mapped reader exists on Linux only (canMap).

// writeFile writes data to a file of its own and opens it.
func writeFile(t testing.TB, name, data string) (*os.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

// openMapped returns a Reader of data, written to a file and mapped with
// windows of window bytes (0: mapWindow).
func openMapped(t testing.TB, data string, window int) (*Reader, string, error) {
	t.Helper()
	_, path := writeFile(t, "export.csv", data)
	p, _ := NewPseudonymizer(testKey)
	o, _ := NewOslo()
	r, err := mapPath(t, path, window, p, o)
	return r, path, err
}

// mapPath returns a Reader of the file at path, mapped with windows of
// window bytes (0: mapWindow).
func mapPath(t testing.TB, path string, window int, p *Pseudonymizer, o *Oslo) (*Reader, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := NewReader(FileSource(f, DefaultMaxGzipRatio, nil), "export.csv", p, o)
	if err != nil {
		return nil, err
	}
	if r.mapped == nil {
		t.Fatal("a plain regular file is not mapped")
	}
	if window > 0 {
		r.mapped.window = window
	}
	return r, nil
}

// readMapped is readBoth's ReadAll over data mapped with windows of
// window bytes and chunks of chunk (0: chunkSize).
func readMapped(t testing.TB, data string, window, chunk int) readResult {
	t.Helper()
	r, _, err := openMapped(t, data, window)
	if err != nil {
		return readResult{FileErr: err.Error()}
	}
	r.chunkSize = chunk
	return readAllResult(t, r)
}

func readAllResult(t testing.TB, r *Reader) readResult {
	t.Helper()
	var res readResult
	err := r.ReadAll(context.Background(), func(rec *ur.Record) error {
		res.Recs = append(res.Recs, *rec)
		return nil
	}, func(rej *Rejection) { res.Rejs = append(res.Rejs, *rej) })
	if n := len(r.mapped.live); n > 0 {
		t.Errorf("%d windows left mapped after ReadAll", n)
	}
	if err != nil {
		res.FileErr = err.Error()
		return res
	}
	res.SHA, res.Read, res.Digest = r.SHA256(), r.RowsRead(), r.Digest().Sum()
	return res
}

var errorText = cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })

// mappedCases are files whose rows, line ends and quoted line ends fall
// across window boundaries, for every window size a test tries.
func mappedCases() map[string]string {
	rows := func(n int, f func(i int) string) string {
		var b strings.Builder
		b.WriteString(header)
		for i := range n {
			b.WriteString(f(i))
		}
		return b.String()
	}
	quoted := func(i int) string {
		if i%2 == 0 {
			return replaceField(7, fmt.Sprintf("\"Ola\nNor\r\ndmann, %d\"", i)) + "\n"
		}
		return rowWith(9, fmt.Sprint(i)) + "\n"
	}
	return map[string]string{
		"plain":       rows(6, func(i int) string { return rowWith(9, fmt.Sprint(i)) + "\n" }),
		"no final LF": strings.TrimSuffix(rows(6, func(i int) string { return rowWith(9, fmt.Sprint(i)) + "\n" }), "\n"),
		"CRLF":        strings.ReplaceAll(rows(6, func(i int) string { return rowWith(9, fmt.Sprint(i)) + "\n" }), "\n", "\r\n"),
		"quoted LF":   rows(6, quoted),
		"quoted CRLF": strings.ReplaceAll(rows(6, quoted), "\n", "\r\n"),
		"blank lines": rows(6, func(i int) string { return rowWith(9, fmt.Sprint(i)) + "\n\n\r\n" }),
		"header only": header,
		"bad rows": rows(6, func(i int) string {
			return []string{replaceField(0, "1"), replaceField(7, `"x`), "a,b\n" + rowWith(9, "1")}[i%3] + "\n"
		}),
		"long row":     rows(3, func(i int) string { return replaceField(2, strings.Repeat("y", 700)) + "\n" }),
		"unterminated": rows(3, func(i int) string { return replaceField(7, `"x,`+strings.Repeat("z", i)) + "\n" }),
	}
}

// TestMappedWindows reads each case through windows of every size from 1
// byte to 300 (longer than a row) and from 300 short of the file's end to
// past it: a window that ends on a line end, inside a CRLF, inside a quoted
// field or at the file's end must read as the row by row reader does.
func TestMappedWindows(t *testing.T) {
	for name, data := range mappedCases() {
		t.Run(name, func(t *testing.T) {
			want := readBoth(t, data, 0)
			if want.FileErr != "" {
				t.Fatalf("Read: %s", want.FileErr)
			}
			_, path := writeFile(t, "export.csv", data)
			p, _ := NewPseudonymizer(testKey)
			o, _ := NewOslo()
			body := len(data) - len(header)
			for window := 1; window <= body+2; window++ {
				if window == 300 && body > 600 {
					window = body - 300 // and windows that end at the file's end
				}
				for _, chunk := range []int{0, 3} {
					r, err := mapPath(t, path, window, p, o)
					if err != nil {
						t.Fatal(err)
					}
					r.chunkSize = chunk
					got := readAllResult(t, r)
					if diff := cmp.Diff(want, got, errorText); diff != "" {
						t.Fatalf("window %d, chunk %d (-Read +mapped):\n%s", window, chunk, diff)
					}
				}
			}
		})
	}
}

// TestMappedLargeFile reads a file larger than the header's first read,
// so that the producer hashes it, through windows large and small.
func TestMappedLargeFile(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 3000 {
		switch i % 50 {
		case 7:
			b.WriteString(replaceField(7, "\"Ola\r\nNordmann\"") + "\r\n")
		case 19:
			b.WriteString(replaceField(5, "fax") + "\n")
		default:
			b.WriteString(rowWith(9, fmt.Sprint(i)) + "\n")
		}
	}
	data := b.String()
	want := readBoth(t, data, 0)
	for _, tc := range []struct{ window, chunk int }{
		{0, 0}, {4096, 0}, {4097, 0}, {65536, 8192}, {65537, 100}, {1 << 20, 4096},
	} {
		got := readMapped(t, data, tc.window, tc.chunk)
		if diff := cmp.Diff(want, got, errorText); diff != "" {
			t.Errorf("window %d, chunk %d (-Read +mapped):\n%s", tc.window, tc.chunk, diff)
		}
	}
}

// TestMappedRowTooLong: a line longer than 2 MiB refuses the file at its
// line, mapped as read.
func TestMappedRowTooLong(t *testing.T) {
	data := header + goodRow + "\n" + strings.Repeat("x", 5<<19) + "\n" + goodRow + "\n"
	want := readBoth(t, data, 0)
	if !strings.Contains(want.FileErr, "export.csv:3:") {
		t.Fatalf("Read: %q; want the file refused at line 3", want.FileErr)
	}
	for _, window := range []int{0, 4096, 3 << 20} {
		got := readMapped(t, data, window, 0)
		if got.FileErr != want.FileErr {
			t.Errorf("window %d: %q; want %q", window, got.FileErr, want.FileErr)
		}
	}
}

// FuzzMappedMatchesRead compares the mapped reader with the row by row
// one, with windows and chunks small enough that rows straddle them.
func FuzzMappedMatchesRead(f *testing.F) {
	f.Add(goodRow+"\n"+replaceField(0, "1")+"\n"+goodRow, uint16(7), uint8(0))
	f.Add(replaceField(7, "\"a\n\"\"b,\r\n\"")+"\r\n\n"+goodRow+"\r\n", uint16(1), uint8(1))
	f.Add(replaceField(2, `"x`)+"\n"+goodRow+"\n", uint16(300), uint8(30))
	f.Fuzz(func(t *testing.T, body string, window uint16, chunk uint8) {
		data := header + body
		want := readBoth(t, data, 0)
		got := readMapped(t, data, int(window)+1, int(chunk))
		if diff := cmp.Diff(want, got, errorText); diff != "" {
			t.Errorf("window %d, chunk %d (-Read +mapped):\n%s", int(window)+1, chunk, diff)
		}
	})
}

// TestMappedReadFallsBack: a window that cannot be mapped is read.
func TestMappedReadFallsBack(t *testing.T) {
	data := mappedCases()["quoted CRLF"]
	want := readBoth(t, data, 0)
	r, _, err := openMapped(t, data, 100)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	r.mapped.mmap = func(*os.File, int64, int) ([]byte, error) {
		calls++
		return nil, errors.New("no address space left")
	}
	got := readAllResult(t, r)
	if diff := cmp.Diff(want, got, errorText); diff != "" {
		t.Errorf("(-Read +read windows):\n%s", diff)
	}
	if calls == 0 {
		t.Error("no window was asked to be mapped")
	}
}

// TestNotMapped: what is not a plain regular file read from its start is
// read, not mapped, and reads the same.
func TestNotMapped(t *testing.T) {
	data := mappedCases()["plain"]
	p, _ := NewPseudonymizer(testKey)
	o, _ := NewOslo()
	gz, _ := writeFile(t, "export.csv.gz", string(gzipMembers(t, data)))
	empty, _ := writeFile(t, "empty.csv", "")
	moved, _ := writeFile(t, "moved.csv", data)
	if _, err := moved.Seek(10, 0); err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	go func() {
		pw.WriteString(data)
		pw.Close()
	}()
	for name, f := range map[string]*os.File{"gzip": gz, "empty": empty, "not at its start": moved, "pipe": pr} {
		src := FileSource(f, DefaultMaxGzipRatio, nil)
		if m := mapSource(src); m != nil {
			t.Errorf("%s: mapped", name)
		}
	}
	// The pipe and the gzip file are read, through the same FileSource.
	for name, f := range map[string]*os.File{"gzip": gz, "pipe": pr} {
		r, err := NewReader(FileSource(f, DefaultMaxGzipRatio, nil), "export.csv", p, o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.mapped != nil {
			t.Fatalf("%s: mapped", name)
		}
		var n int
		if err := r.ReadAll(context.Background(), func(*ur.Record) error { n++; return nil }, func(*Rejection) {}); err != nil || n != 6 {
			t.Errorf("%s: %d records, %v; want 6", name, n, err)
		}
	}
}

// TestFileSourceProgress: progress hears of every byte, mapped or read.
func TestFileSourceProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 2000 {
		b.WriteString(rowWith(9, fmt.Sprint(i)) + "\n")
	}
	data := b.String()
	for _, name := range []string{"export.csv", "export.csv.gz"} {
		content := data
		if strings.HasSuffix(name, ".gz") {
			content = string(gzipMembers(t, data))
		}
		f, _ := writeFile(t, name, content)
		var n int64
		p, _ := NewPseudonymizer(testKey)
		o, _ := NewOslo()
		r, err := NewReader(FileSource(f, DefaultMaxGzipRatio, func(k int64) { n += k }), name, p, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.ReadAll(context.Background(), func(*ur.Record) error { return nil }, func(*Rejection) {}); err != nil {
			t.Fatal(err)
		}
		if n != int64(len(content)) {
			t.Errorf("%s: progress heard of %d bytes of %d", name, n, len(content))
		}
	}
}

// TestMappedFileShrinks truncates a file while it is read: the fault is
// caught (or, cut within its last page or grown, the change is seen at
// its end), the file refused with an error that names it and nothing of
// its rows, nothing is stored, and the next file goes in as ever.
func TestMappedFileShrinks(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 4000 {
		b.WriteString(rowWith(9, fmt.Sprint(i)) + "\n")
	}
	data := b.String()
	for _, tc := range []struct {
		name string
		to   int64 // the size the file is cut to, or -1 to grow it
	}{
		{"emptied", 0}, {"cut in the window read", 300 << 10}, {"cut near its end", int64(len(data)) - 5000},
		{"cut in the last page", int64(len(data)) - 1}, {"grown", -1},
	} {
		to := tc.to
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := embedded.Open(ctx, t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			r, path, err := openMapped(t, data, 64<<10)
			if err != nil {
				t.Fatal(err)
			}
			r.chunkSize = 8 << 10
			truncated := false
			r.mapped.afterChunk = func(end int64) {
				if !truncated && end > min(to+1, 300<<10) {
					truncated = true
					if to < 0 {
						appendTo(t, path, rowWith(9, "4001")+"\n")
					} else if err := os.Truncate(path, to); err != nil {
						t.Error(err)
					}
				}
			}
			res, err := readFile(ctx, st, r, "export.csv")
			if !truncated {
				t.Fatal("the file was not truncated")
			}
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFileChanged) || fe.File != "export.csv" {
				t.Fatalf("got %+v, %v; want a FileError for export.csv with ErrFileChanged", res, err)
			}
			assertNoContent(t, err.Error())
			if n := len(r.mapped.live); n > 0 {
				t.Errorf("%d windows left mapped", n)
			}
			if files, err := st.Files(ctx); err != nil || len(files) != 0 {
				t.Errorf("ledger after the refused file: %+v, %v", files, err)
			}
			// The same run goes on with the next file.
			next, _ := writeFile(t, "next.csv", data)
			res, err = File(ctx, st, FileSource(next, DefaultMaxGzipRatio, nil), "next.csv", r.v.pseudo, r.v.oslo)
			if err != nil || res.Rows != 4000 {
				t.Fatalf("next file: %+v, %v", res, err)
			}
			if files, err := st.Files(ctx); err != nil || len(files) != 1 || files[0].Rows != 4000 {
				t.Errorf("ledger: %+v, %v", files, err)
			}
		})
	}
}

func appendTo(t *testing.T, path, rows string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(rows); err != nil {
		t.Fatal(err)
	}
}

// TestMappedFaultInWorker: a worker that faults on a chunk of a truncated
// window stops the file with ErrFileChanged, as the consumer does when it
// parses such a chunk again after an unfinished row.
func TestMappedFaultInWorker(t *testing.T) {
	data := mappedCases()["plain"]
	r, path, err := openMapped(t, data, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := int64(len(header))
	w, err := r.mapped.open(start, len(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	c := &chunk{data: w.slice(start, int64(len(data))), win: w, done: make(chan struct{})}
	r.parseMapped(c, r.v, new(charMasks))
	if !c.stop || !errors.Is(c.err, ErrFileChanged) {
		t.Errorf("worker: stop %v, err %v; want ErrFileChanged", c.stop, c.err)
	}

	// The consumer, carrying an unfinished row into the truncated chunk.
	first := &chunk{data: []byte(replaceField(7, "\"open\n")), done: make(chan struct{})}
	r.parseChunk(first, r.v, new(charMasks))
	if !first.partial {
		t.Fatal("the first chunk does not end inside a row")
	}
	close(first.done)
	second := &chunk{data: w.slice(start, int64(len(data))), win: w, last: true, done: make(chan struct{})}
	close(second.done)
	order := make(chan *chunk, 2)
	order <- first
	order <- second
	close(order)
	err = r.consume(context.Background(), order, new(sync.Pool), func([]ur.Record, []uint32, []uint32) error { return nil }, func(*Rejection) {})
	if !errors.Is(err, ErrFileChanged) {
		t.Errorf("consumer: %v; want ErrFileChanged", err)
	}
	r.mapped.close()
}

type fault uintptr

func (f fault) Error() string { return "fault" }
func (f fault) Addr() uintptr { return uintptr(f) }

// TestFaultElsewherePanics: a fault outside the file's windows is a bug,
// not a file that changed: it panics on.
func TestFaultElsewherePanics(t *testing.T) {
	m := &mappedFile{live: map[*window]struct{}{}}
	defer func() {
		if p := recover(); p != fault(0x1234) {
			t.Errorf("recovered %v; want the fault to panic on", p)
		}
	}()
	var err error
	func() {
		defer m.recoverFault(&err)
		panic(fault(0x1234))
	}()
	t.Errorf("recovered into %v", err)
}

// BenchmarkReadAllFile is ReadAll of a 500,000-row file (about 90 MB, in
// the page cache): read with read(2), or mapped. It reports the process's
// CPU time (user+sys, all goroutines) per op as "cpu-ns/op", where the
// mapping's saving shows; the wall time hides it behind the hash.
func BenchmarkReadAllFile(b *testing.B) {
	_, path := writeFile(b, "bench.csv", string(benchData()))
	for _, mapped := range []bool{false, true} {
		b.Run(map[bool]string{false: "read", true: "mapped"}[mapped], func(b *testing.B) {
			b.SetBytes(int64(len(benchData())))
			b.ReportAllocs()
			start, n := processCPU(), 0
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				src := GzipLimit(f, DefaultMaxGzipRatio)
				if mapped {
					src = FileSource(f, DefaultMaxGzipRatio, nil)
				}
				p, _ := NewPseudonymizer(testKey)
				o, _ := NewOslo()
				r, err := NewReader(src, "bench.csv", p, o)
				if err != nil || (r.mapped != nil) != mapped {
					b.Fatalf("NewReader: %v, mapped %v", err, r.mapped != nil)
				}
				rows := 0
				err = r.ReadAll(context.Background(), func(*ur.Record) error { rows++; return nil }, func(*Rejection) {})
				f.Close()
				if err != nil || rows != 500_000 {
					b.Fatalf("read %d rows: %v", rows, err)
				}
				n++
			}
			b.ReportMetric(float64(processCPU()-start)/float64(n), "cpu-ns/op")
		})
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
