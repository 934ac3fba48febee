package ingest

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"slices"
	"sync"

	ur "usagereport"
)

// chunkSize is the size of the row runs handed to parsing workers: large
// enough that handing over costs nothing, small enough to keep every core
// busy and memory flat.
const chunkSize = 1 << 20

// chunk is a run of whole rows of the file, parsed by one worker.
type chunk struct {
	data []byte
	line int   // lines of the file before the chunk
	err  error // reading stopped here: a *FileError
	recs []ur.Record
	ids  []uint32 // ids[i]: the run's id of recs[i].Subscriber
	nums []uint64 // the subscribers' numbers, while the worker parses
	rejs []Rejection
	rows int64  // rows parsed: len(recs) + len(rejs), counted on their own
	sum  Digest // of recs
	done chan struct{}
}

// ReadAll reads the rest of the file with several goroutines: one reads
// (and hashes) the input and cuts it into chunks at row ends outside
// quotes, workers parse chunks into records, and the caller's goroutine gets
// add and reject called in file order. It returns the first error of add,
// a *FileError, or ctx's error. Read and ReadAll give the same records and
// rejections; ReadAll is the fast path.
func (r *Reader) ReadAll(ctx context.Context, add func(*ur.Record) error, reject func(*Rejection)) error {
	return r.readAll(ctx, func(recs []ur.Record, _ []uint32) error {
		for i := range recs {
			if err := add(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	}, reject)
}

// readAll is ReadAll that hands add the records of a chunk at a time, with
// the run's id of each record's subscriber (see Pseudonymizer).
func (r *Reader) readAll(ctx context.Context, add func(recs []ur.Record, ids []uint32) error, reject func(*Rejection)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(runtime.GOMAXPROCS(0), 1)
	jobs := make(chan *chunk, workers)
	order := make(chan *chunk, 2*workers)
	pool := &sync.Pool{}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.produce(ctx, jobs, order, pool)
	}()
	for i := range workers {
		v := r.v
		if i > 0 {
			v = r.v.clone()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				r.parseChunk(c, v)
				close(c.done)
			}
		}()
	}
	err := r.consume(ctx, order, pool, add, reject)
	cancel()
	for range order { // let the producer finish
	}
	wg.Wait()
	return err
}

func (r *Reader) consume(ctx context.Context, order <-chan *chunk, pool *sync.Pool, add func([]ur.Record, []uint32) error, reject func(*Rejection)) error {
	for c := range order {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		for i := range c.rejs {
			reject(&c.rejs[i])
		}
		if err := add(c.recs, c.ids); err != nil {
			return err
		}
		if c.err != nil {
			return c.err
		}
		r.sc.rows += c.rows
		r.digest.Merge(c.sum)
		r.sc.rowLine = c.line
		pool.Put(c)
	}
	return ctx.Err()
}

// produce cuts the input into chunks of whole rows and hands each to a
// worker (jobs) and, in file order, to the consumer (order).
func (r *Reader) produce(ctx context.Context, jobs, order chan<- *chunk, pool *sync.Pool) {
	defer close(order)
	defer close(jobs)
	sc := r.sc
	carry := append([]byte(nil), sc.buf[sc.r:sc.w]...) // what the header read left
	line := sc.line
	eof := sc.eof
	size := r.baseChunk()
	for {
		c, _ := pool.Get().(*chunk)
		if c == nil {
			c = &chunk{}
		}
		*c = chunk{data: c.data[:0], recs: c.recs[:0], ids: c.ids[:0], nums: c.nums[:0], rejs: c.rejs[:0], line: line, done: make(chan struct{})}
		if cap(c.data) < size {
			c.data = make([]byte, 0, size)
		}
		buf := append(c.data[:0], carry...)
		var err error
		for len(buf) < cap(buf) && !eof {
			n, rerr := sc.src.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if rerr == io.EOF {
				eof = true
			} else if rerr != nil {
				err = rerr
				break
			}
		}
		cut := len(buf)
		if err == nil {
			cut = r.lastRowEnd(buf, eof)
			if cut <= 0 && len(buf) > 0 { // a row longer than the chunk
				if size >= 2*maxRow {
					err = ErrRowTooLong
				} else {
					size *= 2
					carry = append(carry[:0], buf...)
					pool.Put(c)
					continue
				}
			}
		}
		if err != nil {
			c.data = buf[:0]
			c.err = r.fileErr(withLine(err, line+1))
			close(c.done)
			select {
			case order <- c:
			case <-ctx.Done():
			}
			return
		}
		c.data = buf[:cut]
		carry = append(carry[:0], buf[cut:]...)
		line += bytes.Count(c.data, []byte{'\n'})
		select {
		case order <- c:
		case <-ctx.Done():
			return
		}
		select {
		case jobs <- c:
		case <-ctx.Done():
			return
		}
		if eof && len(carry) == 0 {
			return
		}
		size = r.baseChunk()
	}
}

func (r *Reader) baseChunk() int {
	if r.chunkSize > 0 {
		return r.chunkSize
	}
	return chunkSize
}

type lineError struct {
	line int
	err  error
}

func (e lineError) Error() string { return e.err.Error() }
func (e lineError) Unwrap() error { return e.err }

func withLine(err error, line int) error { return lineError{line, err} }

// lastRowEnd returns where the last whole row of data ends, data starting
// at a row start (eof: nothing follows data); 0 if no row ends in data. It
// cuts rows exactly as the scanner does, by findRow: lines without a quote
// are skipped at the speed of bytes.IndexByte, and only a row with a quote
// is walked, from its start. No quote count is carried across rows, so a
// bare quote cannot move a boundary.
func (r *Reader) lastRowEnd(data []byte, eof bool) int {
	sep, nfields := r.sc.sep, r.nfields
	p := 0   // a row start
	pos := 0 // data[p:pos] holds quoted fields only of one line: its line ends end rows
	for pos < len(data) {
		q := bytes.IndexByte(data[pos:], '"')
		if q < 0 {
			break
		}
		q += pos
		// The usual quote opens a field, after a separator or at a row
		// start, and the field closes on its line.
		if q == p || data[q-1] == sep || data[q-1] == '\n' {
			if end, ok := closesOnLine(data, q, sep); ok {
				pos = end
				continue
			}
		}
		// Anything else is cut by findRow, from the start of q's row.
		start := p + bytes.LastIndexByte(data[p:q], '\n') + 1
		sp, ok := findRow(data[start:], sep, nfields, eof)
		if !ok || sp.tooLong {
			return start // a worker reports a row too long
		}
		p = start + sp.next
		pos = p
	}
	if eof {
		return len(data)
	}
	return p + bytes.LastIndexByte(data[p:], '\n') + 1
}

// closesOnLine reports whether the quoted field opening at data[q] closes
// before the line's end, followed by sep or the line end, and returns
// where it ends. false means it is not that simple.
func closesOnLine(data []byte, q int, sep byte) (int, bool) {
	k := q + 1
	for {
		c := bytes.IndexByte(data[k:], '"')
		if c < 0 {
			return 0, false
		}
		c += k
		if c+1 >= len(data) {
			return 0, false
		}
		if data[c+1] == '"' {
			k = c + 2
			continue
		}
		if bytes.IndexByte(data[q+1:c], '\n') >= 0 {
			return 0, false
		}
		switch data[c+1] {
		case sep, '\n':
			return c + 1, true
		case '\r':
			return c + 1, c+2 < len(data) && data[c+2] == '\n'
		}
		return 0, false
	}
}

// parseChunk parses one chunk's rows with its worker's validator. The
// pseudonyms are looked up after the rows are parsed, in a loop of its
// own: its lookups do not depend on one another, so the processor can
// wait for several of them (each a likely cache miss) at once.
func (r *Reader) parseChunk(c *chunk, v *Validator) {
	sc := scanner{buf: c.data, w: len(c.data), eof: true, sep: r.sc.sep, nfields: r.nfields, lazy: true}
	var f Fields
	for {
		err := sc.next()
		if err == ErrRowTooLong {
			c.err = r.fileErr(withLine(err, c.line+sc.line))
		}
		if err != nil {
			break // else io.EOF: the chunk holds whole rows only
		}
		if !sc.bad {
			if err = sc.split(r.want); err != nil && sc.unsure {
				sc.recut()
				if !sc.bad {
					err = sc.split(r.want)
				}
			}
		}
		if sc.bad {
			c.rejs = append(c.rejs, Rejection{File: r.name, Line: c.line + sc.rowLine, Column: r.badColumn(sc.badField), Err: ErrQuote})
			continue
		}
		if err != nil {
			c.rejs = append(c.rejs, Rejection{File: r.name, Line: c.line + sc.rowLine, Err: err})
			continue
		}
		if len(sc.fields) != r.nfields {
			c.rejs = append(c.rejs, Rejection{File: r.name, Line: c.line + sc.rowLine, Err: ErrFieldCount})
			continue
		}
		for col, i := range r.col {
			f[col] = nil
			if i >= 0 {
				f[col] = sc.fields[i]
			}
		}
		c.recs = append(c.recs, ur.Record{})
		num, col, err := v.check(&f, &c.recs[len(c.recs)-1])
		if err != nil {
			c.recs = c.recs[:len(c.recs)-1]
			c.rejs = append(c.rejs, Rejection{File: r.name, Line: c.line + sc.rowLine, Column: colNames[col], Err: err})
			continue
		}
		c.nums = append(c.nums, num)
	}
	c.ids = slices.Grow(c.ids[:0], len(c.recs))[:len(c.recs)]
	for i, num := range c.nums {
		c.recs[i].Subscriber, c.ids[i] = v.pseudo.lookup(num)
	}
	// The digest needs the pseudonyms: in the lookups' loop it would make
	// each lookup wait for the one before.
	for i := range c.recs {
		c.sum.Add(&c.recs[i])
	}
	c.rows = sc.rows
	clear(c.nums) // numbers are not kept beyond their use
	c.nums = c.nums[:0]
}
