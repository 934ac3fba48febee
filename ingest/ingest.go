package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"unsafe"

	ur "usagereport"
)

// MaxListed is how many rejections a Result keeps with their position;
// the rest are only counted.
const MaxListed = 100

// Result is what ingesting one file did. Read = Rows + Rejected, always
// (but Rows is 0 when AlreadyIngested): every data row is stored or
// rejected.
type Result struct {
	Name            string
	SHA256          [32]byte
	Content         [32]byte // the digest of the records (see Digest)
	Read            int64    // data rows read, blank lines not included
	Rows            int64    // records stored (0 when AlreadyIngested)
	Rejected        int64
	ByReason        map[error]int64
	Rejections      []Rejection // the first MaxListed
	AlreadyIngested bool
	// Already, with AlreadyIngested, names the file that was first.
	Already *ur.AlreadyIngestedError
}

// File reads one CSV v1 export from src into st with the parallel
// Reader: every good row is stored, every bad row counted and listed, and
// the file's records become visible at once when it commits. A file whose
// content the store has seen before changes nothing and comes back with
// AlreadyIngested.
func File(ctx context.Context, st ur.Store, src io.Reader, name string, pseudo *Pseudonymizer, oslo *Oslo) (res *Result, err error) {
	r, err := NewReader(src, name, pseudo, oslo)
	if err != nil {
		return nil, err
	}
	return readFile(ctx, st, r, name)
}

// readFile is File once the header is read.
func readFile(ctx context.Context, st ur.Store, r *Reader, name string) (res *Result, err error) {
	f, err := beginFile(ctx, st, r, name)
	if err != nil {
		return nil, err
	}
	defer f.abortOnError(&err)
	err = r.readAll(ctx, f.addBatch, f.reject)
	f.res.Read, f.res.Content = r.RowsRead(), r.Digest().Sum()
	return f.finish(ctx, err)
}

// FileWith is File for any RowReader (a Profile's), read row by row.
func FileWith(ctx context.Context, st ur.Store, r RowReader, name string) (res *Result, err error) {
	f, err := beginFile(ctx, st, r, name)
	if err != nil {
		return nil, err
	}
	defer f.abortOnError(&err)
	var d Digest
	add := f.add
	if ir, ok := r.(idReader); ok {
		add = func(rec *ur.Record) error {
			sub, cc := ir.runIDs()
			return f.addWithIDs(rec, sub, cc)
		}
	}
	err = readRows(ctx, r, func(rec *ur.Record) error {
		d.Add(rec)
		return add(rec)
	}, func(rej *Rejection) {
		f.res.Read++
		f.reject(rej)
	})
	f.res.Read += d.Len()
	f.res.Content = d.Sum()
	return f.finish(ctx, err)
}

// fileIngest is one file on its way into a store: the writer, the reader
// (for positions and the hash) and the result so far.
type fileIngest struct {
	w    ur.FileWriter
	r    RowReader
	name string
	res  *Result
	ids  [2]uint32 // addWithIDs's, not to allocate a slice a row
}

func beginFile(ctx context.Context, st ur.Store, r RowReader, name string) (*fileIngest, error) {
	w, err := st.BeginFile(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest %s: %w", name, err)
	}
	return &fileIngest{w: w, r: r, name: name, res: &Result{Name: name, ByReason: make(map[error]int64)}}, nil
}

// abortOnError discards what was written when *err is set.
func (f *fileIngest) abortOnError(err *error) {
	if *err != nil {
		f.w.Abort()
	}
}

func (f *fileIngest) add(rec *ur.Record) error {
	if err := f.w.Add(rec); err != nil {
		return fmt.Errorf("ingest %s line %d: store: %w", f.name, f.r.Line(), err)
	}
	f.res.Rows++
	return nil
}

// addWithIDs is add for a record whose subscriber and cost centre have
// the run's ids sub and cc.
func (f *fileIngest) addWithIDs(rec *ur.Record, sub, cc uint32) error {
	f.ids = [2]uint32{sub, cc}
	if err := f.w.AddBatch(unsafe.Slice(rec, 1), f.ids[:1], f.ids[1:]); err != nil {
		return fmt.Errorf("ingest %s line %d: store: %w", f.name, f.r.Line(), err)
	}
	f.res.Rows++
	return nil
}

func (f *fileIngest) addBatch(recs []ur.Record, subs, ccs []uint32) error {
	if err := f.w.AddBatch(recs, subs, ccs); err != nil {
		return fmt.Errorf("ingest %s line %d: store: %w", f.name, f.r.Line(), err)
	}
	f.res.Rows += int64(len(recs))
	return nil
}

func (f *fileIngest) reject(rej *Rejection) {
	res := f.res
	res.Rejected++
	res.ByReason[rej.Err]++
	if len(res.Rejections) < MaxListed {
		res.Rejections = append(res.Rejections, *rej)
	}
}

// finish checks that every row read was stored or rejected, then commits.
func (f *fileIngest) finish(ctx context.Context, err error) (*Result, error) {
	if err != nil {
		return nil, err
	}
	res := f.res
	if res.Read != res.Rows+res.Rejected {
		// The reader and the store disagree: a bug, and a file that would
		// not add up. Refuse it rather than store it.
		return nil, &FileError{File: f.name, Err: fmt.Errorf("%d rows read, but %d stored and %d rejected", res.Read, res.Rows, res.Rejected)}
	}
	return res, commit(ctx, f.w, f.r, res)
}

// readRows reads r row by row, calling add and reject.
func readRows(ctx context.Context, r RowReader, add func(*ur.Record) error, reject func(*Rejection)) error {
	var rec ur.Record
	for n := 0; ; n++ {
		if n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		err := r.Read(&rec)
		var rej *Rejection
		switch {
		case err == io.EOF:
			return nil
		case errors.As(err, &rej):
			reject(rej)
		case err != nil:
			return err
		default:
			if err := add(&rec); err != nil {
				return err
			}
		}
	}
}

func commit(ctx context.Context, w ur.FileWriter, r RowReader, res *Result) error {
	res.SHA256 = r.SHA256()
	err := w.Commit(ctx, ur.FileMeta{Name: res.Name, SHA256: res.SHA256, Content: res.Content, Rows: res.Rows, Rejected: res.Rejected})
	if errors.Is(err, ur.ErrAlreadyIngested) {
		res.AlreadyIngested = true
		res.Rows = 0
		errors.As(err, &res.Already)
		return nil
	}
	if err != nil {
		return fmt.Errorf("ingest %s: commit: %w", res.Name, err)
	}
	return nil
}
