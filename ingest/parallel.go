package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"

	ur "usagereport"
)

// chunkSize is the size of the row runs handed to parsing workers: large
// enough that handing over costs nothing, small enough to keep every core
// busy and memory flat.
const chunkSize = 512 << 10

// ahead is how many chunks may be read and not yet consumed, for a
// number of workers: 8 a worker, but no more than 32 chunks (16 MiB of
// input and their records) unless 2 a worker are more. The consumer takes
// chunks in file order, so a chunk whose worker is slow (descheduled on a
// busy machine) holds up the consumer, and once the queue is full, the
// producer and the other workers too: with 2 a worker on 2 cores, a
// trace under load showed each worker waiting for a chunk a sixth of the
// run (docs/performance.md). A few MB more on 2 cores; on 16 or more,
// no more than before (2 a worker of twice the size).
func ahead(workers int) int { return max(min(8*workers, 32), 2*workers) }

// chunk is a run of whole lines of the file, parsed by one worker.
//
// The producer cuts the input at the last line end of each buffer without
// looking at quotes: a cut inside a quoted field that spans lines is rare,
// and finding the true row ends costs the one goroutine that reads (and
// hashes) the input a walk from quote to quote. The worker parses the chunk
// as if it started at a row start, and says where its rows stop: at its
// end (clean), or at a row that runs past it (partial, from tail). Row ends
// depend only on the bytes from a row's start (see findRow), so a chunk
// whose predecessor ended clean was parsed right; the consumer parses the
// one after a partial chunk again from the unfinished row, in file order.
type chunk struct {
	data []byte
	last bool  // nothing follows data: the file's last chunk
	err  error // reading stopped here (see stop), or the worker's ErrRowTooLong at errLine
	recs []ur.Record
	ids  []uint32    // ids[i]: the run's id of recs[i].Subscriber
	ccs  []uint32    // ccs[i]: the run's id of recs[i].CostCentre
	nums []uint64    // the subscribers' numbers, while the worker parses
	rejs []Rejection // Line counted from the chunk's start
	rows int64       // rows parsed: len(recs) + len(rejs), counted on their own
	sum  Digest      // of recs
	// lines is the number of lines that the parsed rows take; errLine,
	// with err, the line (from the chunk's start) that is too long.
	lines, errLine int
	// partial: the row that starts at data[tail:] runs past the chunk.
	partial bool
	tail    int
	stop    bool // the producer's: reading stopped at the chunk's start, for err
	// win, for a mapped file, is the window data is a slice of: the
	// consumer lets go of it when done with the chunk.
	win *window
	// touched keeps what the pseudonym cache's touch read, so that the
	// reads stay.
	touched uint64
	done    chan struct{}
}

// ReadAll reads the rest of the file with several goroutines: one reads
// (and hashes) the input and cuts it into chunks at line ends, workers
// parse chunks into records, and the caller's goroutine checks where each
// chunk's rows stop (see chunk) and gets add and reject called in file
// order. It returns the first error of add, a *FileError, or ctx's error.
// Read and ReadAll give the same records and rejections; ReadAll is the
// fast path.
func (r *Reader) ReadAll(ctx context.Context, add func(*ur.Record) error, reject func(*Rejection)) error {
	return r.readAll(ctx, func(recs []ur.Record, _, _ []uint32) error {
		for i := range recs {
			if err := add(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	}, reject)
}

// readAll is ReadAll that hands add the records of a chunk at a time, with
// the run's id of each record's subscriber (see Pseudonymizer) and cost
// centre (see ccNames).
func (r *Reader) readAll(ctx context.Context, add func(recs []ur.Record, subs, ccs []uint32) error, reject func(*Rejection)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(runtime.GOMAXPROCS(0), 1)
	jobs := make(chan *chunk, ahead(workers))
	order := make(chan *chunk, ahead(workers))
	pool := &sync.Pool{}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if r.mapped != nil {
			r.produceMapped(ctx, jobs, order, pool)
			return
		}
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
			parse := r.parseChunk
			if r.mapped != nil {
				parse = r.parseMapped
			}
			var m charMasks
			for c := range jobs {
				parse(c, v, &m)
				close(c.done)
			}
		}()
	}
	err := r.consume(ctx, order, pool, add, reject)
	cancel()
	for range order { // let the producer finish
	}
	wg.Wait()
	if r.mapped != nil {
		r.mapped.close()
	}
	return err
}

func (r *Reader) consume(ctx context.Context, order <-chan *chunk, pool *sync.Pool, add func(recs []ur.Record, subs, ccs []uint32) error, reject func(*Rejection)) (err error) {
	if r.mapped != nil {
		// The consumer reads windows too: a carried row, and a chunk
		// parsed again.
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer r.mapped.recoverFault(&err)
	}
	line := r.sc.line // lines before carry, or before the next chunk
	var carry []byte  // an unfinished row and the lines after it, up to the next chunk
	carryLines := 0   // lines in carry
	var v *Validator  // for the rows parsed again here
	var m charMasks
	for c := range order {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.stop {
			return r.fileErr(withLine(c.err, line+carryLines+c.errLine))
		}
		win := c.win
		if carry != nil {
			// The worker took the chunk's start for a row start, and it
			// is not: parse it again from the unfinished row. (Its data
			// is copied before it goes back to the pool, where the
			// producer may take it and read into it.)
			if v == nil {
				v = r.v.clone()
			}
			again := &chunk{data: append(carry, c.data...), last: c.last}
			putChunk(pool, c)
			c = again
			r.parseChunk(c, v, &m)
		}
		for i := range c.rejs {
			c.rejs[i].Line += line
			reject(&c.rejs[i])
		}
		r.sc.rowLine = line + 1
		if err := add(c.recs, c.ids, c.ccs); err != nil {
			return err
		}
		if c.err != nil {
			return r.fileErr(withLine(c.err, line+c.errLine))
		}
		r.sc.rows += c.rows
		r.digest.Merge(c.sum)
		line += c.lines
		carry, carryLines = nil, 0
		if c.partial {
			carry = bytes.Clone(c.data[c.tail:])
			carryLines = bytes.Count(carry, []byte{'\n'})
		}
		putChunk(pool, c)
		if win != nil {
			win.release()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if carry != nil {
		// The last chunk is parsed to its end: this is a bug, and rows
		// would go uncounted. Refuse the file rather than lose them.
		return &FileError{File: r.name, Line: line + 1, Err: errors.New("read: a row runs past the end of the file's last chunk")}
	}
	return nil
}

// produce cuts the input into chunks of whole lines (see chunk) and hands
// each to a worker (jobs) and, in file order, to the consumer (order).
func (r *Reader) produce(ctx context.Context, jobs, order chan<- *chunk, pool *sync.Pool) {
	defer close(order)
	defer close(jobs)
	sc := r.sc
	carry := append([]byte(nil), sc.buf[sc.r:sc.w]...) // what the header read left
	eof := sc.eof
	size := r.baseChunk()
	for {
		c := newChunk(pool, size)
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
		if err == nil && !eof {
			cut = bytes.LastIndexByte(buf, '\n') + 1
			if cut == 0 { // a line longer than the chunk
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
			c.err, c.errLine, c.stop = err, 1, true
			close(c.done)
			select {
			case order <- c:
			case <-ctx.Done():
			}
			return
		}
		c.data = buf[:cut]
		carry = append(carry[:0], buf[cut:]...)
		c.last = eof && len(carry) == 0
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
		if c.last {
			return
		}
		size = r.baseChunk()
	}
}

// newChunk returns a chunk from pool, or a new one, emptied, with room
// for size bytes of data.
func newChunk(pool *sync.Pool, size int) *chunk {
	c, _ := pool.Get().(*chunk)
	if c == nil {
		c = &chunk{}
	}
	*c = chunk{data: c.data[:0], recs: c.recs[:0], ids: c.ids[:0], ccs: c.ccs[:0], nums: c.nums[:0], rejs: c.rejs[:0], done: make(chan struct{})}
	if cap(c.data) < size {
		c.data = make([]byte, 0, size)
	}
	return c
}

// putChunk gives c back to pool, once the consumer is done with it. A mapped
// chunk's data is a window's, not a buffer to read into.
func putChunk(pool *sync.Pool, c *chunk) {
	if c.win != nil {
		c.data, c.win = nil, nil
	}
	pool.Put(c)
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

// parseChunk parses one chunk's rows with its worker's validator. The
// pseudonyms are looked up after the rows are parsed, in a loop of its
// own: its lookups do not depend on one another, so the processor can
// wait for several of them (each a likely cache miss) at once.
func (r *Reader) parseChunk(c *chunk, v *Validator, m *charMasks) {
	m.start(c.data, r.sc.sep) // cutLine builds the masks as it goes, nextFields all of them
	sc := scanner{buf: c.data, w: len(c.data), eof: c.last, sep: r.sc.sep, nfields: r.nfields, lazy: true, masks: m}
	var f Fields
	fast := r.nfields <= cutMax
	for {
		// The usual row, a line without quotes or with sound ones, is
		// found and cut by cutLine; any other by next and the cuts after
		// it, which decide as they did before cutLine.
		cut, err := false, error(nil)
		if fast {
			cut, err = sc.cutLine(&f, &r.col, r.nfields)
		}
		if cut && err != nil {
			c.rejs = append(c.rejs, Rejection{File: r.name, Line: sc.rowLine, Err: err})
			continue
		}
		if !cut {
			got, stop := r.nextFields(&sc, &f, c)
			if stop {
				break
			}
			if !got {
				continue
			}
		}
		c.recs = append(c.recs, ur.Record{})
		num, cc, col, err := v.check(&f, &c.recs[len(c.recs)-1])
		if err != nil {
			c.recs = c.recs[:len(c.recs)-1]
			c.rejs = append(c.rejs, Rejection{File: r.name, Line: sc.rowLine, Column: colNames[col], Err: err})
			continue
		}
		c.nums = append(c.nums, num)
		c.ccs = append(c.ccs, cc)
	}
	c.ids = slices.Grow(c.ids[:0], len(c.recs))[:len(c.recs)]
	c.touched += v.pseudo.cache.touch(c.nums)
	for i, num := range c.nums {
		c.recs[i].Subscriber, c.ids[i] = v.pseudo.lookup(num)
	}
	// The digest needs the pseudonyms: in the lookups' loop it would make
	// each lookup wait for the one before.
	for i := range c.recs {
		c.sum.Add(&c.recs[i])
	}
	c.rows, c.lines = sc.rows, sc.line
	clear(c.nums) // numbers are not kept beyond their use
	c.nums = c.nums[:0]
}

// nextFields is parseChunk's way for a row that cutLine leaves: it finds
// the next row with next and fills f. got is false for a row rejected
// (noted in c); stop is true at the chunk's end (c.partial set for a row
// that runs past it, c.err for one too long).
func (r *Reader) nextFields(sc *scanner, f *Fields, c *chunk) (got, stop bool) {
	sc.masks.buildAll()
	err := sc.next()
	if err == errPartial {
		c.partial, c.tail = true, sc.r
		return false, true
	}
	if err == ErrRowTooLong {
		c.err, c.errLine = err, sc.line
	}
	if err != nil {
		return false, true // else io.EOF: the chunk ends with a row
	}
	if !sc.bad && r.nfields <= cutMax {
		// The rows without quotes or with sound ones on one line: fields
		// cut in place.
		if ok, err := sc.cutMasked(f, &r.col, r.nfields); err != nil {
			c.rejs = append(c.rejs, Rejection{File: r.name, Line: sc.rowLine, Err: err})
			return false, false
		} else if ok {
			return true, false
		}
	}
	if !r.splitFields(sc, f, c) {
		return false, c.partial
	}
	return true, false
}

// splitFields is parseChunk's way for a row with quotes (or of more than
// cutMax fields): split, cut again when a lazy cut was wrong, and fill f.
// It returns false for a row rejected (noted in c) or, with c.partial set,
// one that runs past the chunk.
func (r *Reader) splitFields(sc *scanner, f *Fields, c *chunk) bool {
	var err error
	if !sc.bad {
		if err = sc.split(r.want); err != nil && sc.unsure {
			if !sc.recut() {
				c.partial, c.tail = true, sc.r
				return false
			}
			if !sc.bad {
				err = sc.split(r.want)
			}
		}
	}
	switch {
	case sc.bad:
		c.rejs = append(c.rejs, Rejection{File: r.name, Line: sc.rowLine, Column: r.badColumn(sc.badField), Err: ErrQuote})
		return false
	case err != nil:
		c.rejs = append(c.rejs, Rejection{File: r.name, Line: sc.rowLine, Err: err})
		return false
	case len(sc.fields) != r.nfields:
		c.rejs = append(c.rejs, Rejection{File: r.name, Line: sc.rowLine, Err: ErrFieldCount})
		return false
	}
	for col, i := range r.col {
		f[col] = nil
		if i >= 0 {
			f[col] = sc.fields[i]
		}
	}
	return true
}
