package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Reading a plain file through memory maps.
//
// The read path copies every byte of a file from the page cache into a
// chunk buffer with read(2): on a 1.8 GB export, about 0.3 s of system CPU
// on the one goroutine that also hashes the file, the pipeline's slowest
// stage. A plain (not gzip) regular file is instead mapped read-only, a
// window at a time, and a chunk is a slice of its window: the hash and the
// workers read the page cache where it is, and nothing copies it.
//
// Mapped pages count in the process's resident set, so the file is never
// mapped whole: a window maps mapWindow bytes, and is unmapped once the
// consumer is done with its last chunk. At most a few windows are mapped
// at once (those of the chunks read ahead, see ahead), whatever the size
// of the file.
//
// A mapped file that shrinks while it is read (truncated, or rewritten in
// place by a careless exporter) makes a read past its new end raise SIGBUS,
// which would kill the process. Every goroutine that reads a window sets
// debug.SetPanicOnFault, so that such a fault panics in that goroutine
// instead; a fault inside one of the file's windows is recovered into
// ErrFileChanged, the file is refused, and nothing of it is stored. A fault
// anywhere else is a bug and panics on.

// mapWindow is how many bytes of the file a window maps: large enough that
// mapping costs little (one mmap and one munmap a window, the page tables
// filled in one go by MAP_POPULATE), small enough that the windows of the
// chunks read ahead stay a few times mapWindow.
const mapWindow = 4 << 20

// ErrFileChanged refuses a file that was written to while it was read
// (mapped): one still being exported, or truncated.
var ErrFileChanged = errors.New("the file changed while it was read; ingest it again once it is complete")

// FileSource is GzipLimit(f, ratio) for an open file, calling progress
// (unless nil) with the count of each run of bytes read. File maps a
// plain regular file into memory instead of reading it (see mappedFile);
// a gzip file, a FIFO or a device is read.
func FileSource(f *os.File, ratio float64, progress func(n int64)) io.Reader {
	return &countingReader{r: f, ratio: ratio, file: f, onRead: progress}
}

// mappedFile is a plain regular file read through windows of read-only
// memory maps by ReadAll's producer, and with pread by Read (the header,
// and a Reader read row by row): see mapSource.
type mappedFile struct {
	f        *os.File
	size     int64 // the file's size when opened: what is read
	mtime    time.Time
	off      int64 // bytes read so far through Read
	window   int   // mapWindow; tests make it small
	progress func(n int64)
	// mmap maps n bytes of f from off (a multiple of the page size);
	// tests make it fail.
	mmap func(f *os.File, off int64, n int) ([]byte, error)

	mu   sync.Mutex
	live map[*window]struct{} // the windows mapped, to tell a fault in one

	// afterChunk, when set (by tests), is called by the producer after
	// handing over each chunk, with the file offset where it ends.
	afterChunk func(end int64)
}

// window is a run of the file: mapped, or (when mapping fails) read into
// memory of its own.
type window struct {
	mem    []byte // the file's bytes from base
	base   int64  // a multiple of the page size
	mapped bool
	// refs counts the chunks that use the window, and the producer while
	// it cuts chunks from it; the last to let go unmaps it.
	refs atomic.Int32
	m    *mappedFile
}

func (w *window) end() int64                  { return w.base + int64(len(w.mem)) }
func (w *window) slice(from, to int64) []byte { return w.mem[from-w.base : to-w.base] }

func (w *window) release() {
	if w.refs.Add(-1) == 0 {
		w.m.drop(w)
	}
}

// mapSource returns src as a mappedFile when it is a FileSource of a
// plain regular file, not empty, not read yet, whose first page maps; else
// nil, and src is read.
func mapSource(src io.Reader) *mappedFile {
	cr, ok := src.(*countingReader)
	if !ok || cr.file == nil || cr.n != 0 || !canMap {
		return nil
	}
	f := cr.file
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return nil
	}
	if off, err := f.Seek(0, io.SeekCurrent); err != nil || off != 0 {
		return nil
	}
	var magic [2]byte
	if n, _ := f.ReadAt(magic[:], 0); n == 2 && magic == [2]byte{0x1f, 0x8b} {
		return nil // gzip: decompressed as it is read
	}
	// A file system that cannot map the file is read instead.
	b, err := mmapFile(f, 0, int(min(fi.Size(), int64(os.Getpagesize()))))
	if err != nil {
		return nil
	}
	munmapFile(b)
	adviseSequential(f)
	return &mappedFile{f: f, size: fi.Size(), mtime: fi.ModTime(), window: mapWindow, progress: cr.onRead, mmap: mmapFile, live: make(map[*window]struct{})}
}

// Read reads the file with pread, for the header and for Reader.Read.
func (m *mappedFile) Read(p []byte) (int, error) {
	if m.off >= m.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), m.size-m.off)]
	n, err := m.f.ReadAt(p, m.off)
	m.off += int64(n)
	m.report(int64(n))
	if err == io.EOF && n < len(p) {
		return n, ErrFileChanged
	}
	return n, err
}

func (m *mappedFile) report(n int64) {
	if m.progress != nil && n > 0 {
		m.progress(n)
	}
}

// open returns a window that holds the file from off, n bytes or to its
// end. The producer holds it (refs 1).
func (m *mappedFile) open(off int64, n int) (*window, error) {
	page := int64(os.Getpagesize())
	base := off / page * page
	end := min(off+int64(n), m.size)
	w := &window{base: base, m: m, mapped: true}
	w.refs.Store(1)
	mem, err := m.mmap(m.f, base, int(end-base))
	if err != nil {
		// Read what cannot be mapped (address space or map count
		// exhausted): the same bytes, copied.
		mem = make([]byte, end-base)
		if k, err := m.f.ReadAt(mem, base); k < len(mem) {
			if err == io.EOF {
				err = ErrFileChanged
			}
			return nil, err
		}
		w.mapped = false
	}
	w.mem = mem
	m.mu.Lock()
	m.live[w] = struct{}{}
	m.mu.Unlock()
	return w, nil
}

// drop unmaps w, which nothing uses any more.
func (m *mappedFile) drop(w *window) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unmap(w)
}

func (m *mappedFile) unmap(w *window) {
	if _, ok := m.live[w]; !ok {
		return
	}
	delete(m.live, w)
	if w.mapped {
		// munmap fails only for a range that was never mapped: nothing
		// to do about it but leave the address space as it is.
		munmapFile(w.mem)
	}
	w.mem = nil
}

// close unmaps every window left, once no goroutine reads any: those of
// chunks that a stopped ReadAll never consumed.
func (m *mappedFile) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for w := range m.live {
		m.unmap(w)
	}
}

// holds reports whether addr lies in a window mapped now.
func (m *mappedFile) holds(addr uintptr) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for w := range m.live {
		if len(w.mem) > 0 && w.mapped {
			start := uintptr(unsafe.Pointer(unsafe.SliceData(w.mem)))
			if addr >= start && addr < start+uintptr(len(w.mem)) {
				return true
			}
		}
	}
	return false
}

// recoverFault, deferred in a goroutine that reads windows with
// debug.SetPanicOnFault set, turns a fault in one of the file's windows
// into ErrFileChanged in *err. Any other panic goes on.
func (m *mappedFile) recoverFault(err *error) {
	p := recover()
	if p == nil {
		return
	}
	if f, ok := p.(interface{ Addr() uintptr }); ok && m.holds(f.Addr()) {
		*err = ErrFileChanged
		return
	}
	panic(p)
}

// produceMapped is produce for a mapped file: chunks are slices of
// windows, cut at line ends as produce cuts them, hashed here in file
// order.
func (r *Reader) produceMapped(ctx context.Context, jobs, order chan<- *chunk, pool *sync.Pool) {
	defer close(order)
	defer close(jobs)
	if err := r.cutMapped(ctx, jobs, order, pool); err != nil {
		c := &chunk{err: err, errLine: 1, stop: true, done: make(chan struct{})}
		close(c.done)
		select {
		case order <- c:
		case <-ctx.Done():
		}
	}
}

// cutMapped hands over the chunks of the mapped file from where the
// header's scanner stopped parsing. It returns nil when the last chunk is
// handed over or ctx is done, or why it stopped reading.
func (r *Reader) cutMapped(ctx context.Context, jobs, order chan<- *chunk, pool *sync.Pool) (err error) {
	m := r.mapped
	var w *window
	defer func() {
		if w != nil {
			w.release()
		}
	}()
	defer m.recoverFault(&err)
	debug.SetPanicOnFault(true) // this goroutine is ReadAll's own

	// The header's scanner read [0, m.off) through m.Read, hashed it, and
	// holds its unparsed end.
	pos := m.off - int64(r.sc.w-r.sc.r)
	hashed := m.off
	size := r.baseChunk()
	for {
		var data []byte
		if pos < m.size {
			if w == nil || w.end() <= pos {
				if w, err = m.next(w, pos, max(m.window, size)); err != nil {
					return err
				}
			}
			lim := min(pos+int64(size), w.end())
			data = w.slice(pos, lim)
			if lim < m.size {
				cut := bytes.LastIndexByte(data, '\n') + 1
				if cut == 0 { // a line runs past data
					if lim < pos+int64(size) { // and past the window: map on from pos
						if w, err = m.next(w, pos, max(m.window, size)); err != nil {
							return err
						}
						continue
					}
					if size >= 2*maxRow {
						return ErrRowTooLong
					}
					size *= 2
					continue
				}
				data = data[:cut]
			}
		}
		end := pos + int64(len(data))
		if end > hashed {
			r.hash.Write(w.slice(hashed, end))
			m.report(end - hashed)
			hashed = end
		}
		if end == m.size {
			if err := m.unchanged(); err != nil {
				return err
			}
		}
		c := newChunk(pool, 0)
		c.data, c.last = data, end == m.size
		if w != nil {
			c.win = w
			w.refs.Add(1)
		}
		select {
		case order <- c:
		case <-ctx.Done():
			return nil
		}
		select {
		case jobs <- c:
		case <-ctx.Done():
			return nil
		}
		if c.last {
			return nil
		}
		if m.afterChunk != nil {
			m.afterChunk(end)
		}
		pos, size = end, r.baseChunk()
	}
}

// unchanged checks, once the whole file is read, that it was not written
// to meanwhile: a file that grew (still being exported) would otherwise
// be stored cut at its size when opened, and one rewritten in place or
// shrunk within its last page would go unnoticed.
func (m *mappedFile) unchanged() error {
	fi, err := m.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != m.size || !fi.ModTime().Equal(m.mtime) {
		return ErrFileChanged
	}
	return nil
}

// next lets go of w and returns a window of the file from off, n bytes or
// to its end.
func (m *mappedFile) next(w *window, off int64, n int) (*window, error) {
	if w != nil {
		w.release()
	}
	return m.open(off, n)
}

// parseMapped is parseChunk for a chunk of a window: a fault reading it
// stops the file with ErrFileChanged.
func (r *Reader) parseMapped(c *chunk, v *Validator, m *charMasks) {
	var err error
	defer func() {
		if err != nil {
			c.err, c.errLine, c.stop = err, 1, true
		}
	}()
	defer r.mapped.recoverFault(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	r.parseChunk(c, v, m)
}
