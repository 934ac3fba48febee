package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"

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

// File reads one CSV v1 export from src into st: every good row is stored,
// every bad row counted and listed, and the file's records become visible
// at once when it commits. A file whose content the store has seen before
// changes nothing and comes back with AlreadyIngested.
func File(ctx context.Context, st ur.Store, src io.Reader, name string, pseudo *Pseudonymizer, oslo *Oslo) (*Result, error) {
	r, err := NewReader(src, name, pseudo, oslo)
	if err != nil {
		return nil, err
	}
	return FileWith(ctx, st, r, name)
}

// keyedWriter is a store's FileWriter that takes a chunk's records at a
// time, with the run's id of each record's subscriber (see Pseudonymizer)
// and cost centre (see ccNames), 0 for none: the embedded store's writer
// finds them by their ids instead of hashing them again, and keeps no map
// of them. An id stands for one pseudonym, or one cost centre name, for
// the whole run, and each has one id.
type keyedWriter interface {
	// AddBatch adds recs[i], whose subscriber's id is subs[i] and cost
	// centre's ccs[i], in turn.
	AddBatch(recs []ur.Record, subs, ccs []uint32) error
}

// FileWith is File for any RowReader. The CSV v1 Reader is read with its
// parallel ReadAll, the others row by row.
func FileWith(ctx context.Context, st ur.Store, r RowReader, name string) (res *Result, err error) {
	w, err := st.BeginFile(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	res = &Result{Name: name, ByReason: make(map[error]int64)}
	add := func(rec *ur.Record) error {
		if err := w.Add(rec); err != nil {
			return fmt.Errorf("ingest %s line %d: store: %w", name, r.Line(), err)
		}
		res.Rows++
		return nil
	}
	kw, keyed := w.(keyedWriter)
	addBatch := func(recs []ur.Record, subs, ccs []uint32) error {
		if !keyed {
			for i := range recs {
				if err := add(&recs[i]); err != nil {
					return err
				}
			}
			return nil
		}
		if err := kw.AddBatch(recs, subs, ccs); err != nil {
			return fmt.Errorf("ingest %s line %d: store: %w", name, r.Line(), err)
		}
		res.Rows += int64(len(recs))
		return nil
	}
	reject := func(rej *Rejection) {
		res.Rejected++
		res.ByReason[rej.Err]++
		if len(res.Rejections) < MaxListed {
			res.Rejections = append(res.Rejections, *rej)
		}
	}
	if fast, ok := r.(*Reader); ok {
		err = fast.readAll(ctx, addBatch, reject)
		res.Read, res.Content = fast.RowsRead(), fast.Digest().Sum()
	} else {
		var d Digest
		err = readRows(ctx, r, func(rec *ur.Record) error {
			d.Add(rec)
			return add(rec)
		}, func(rej *Rejection) {
			res.Read++
			reject(rej)
		})
		res.Read += d.Len()
		res.Content = d.Sum()
	}
	if err != nil {
		return nil, err
	}
	if res.Read != res.Rows+res.Rejected {
		// The reader and the store disagree: a bug, and a file that would
		// not add up. Refuse it rather than store it.
		return nil, &FileError{File: name, Err: fmt.Errorf("%d rows read, but %d stored and %d rejected", res.Read, res.Rows, res.Rejected)}
	}
	return res, commit(ctx, w, r, res)
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
