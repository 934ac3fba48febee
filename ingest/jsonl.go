package ingest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"

	ur "usagereport"
)

// jsonlReader reads JSON Lines through a profile: each line one object,
// whose top-level keys (in any case) are the source columns. A mapped key
// may hold a string, a number (read as written) or null (empty); any other
// value rejects the row. Unmapped keys are skipped whatever they hold,
// nested objects included, and only their names are kept, for Dropped.
type jsonlReader struct {
	name    string
	br      *bufio.Reader
	hash    hash.Hash
	cv      *converter
	keys    map[string][2]int // folded key -> kept field, source index
	dropped []string
	seen    map[string]bool
	line    int // lines read so far
	rowLine int
	buf     []byte
	raw     rawRow
	set     [numCols][2]bool
}

// maxDropped bounds the dropped key names a JSONL reader keeps.
const maxDropped = 100

func newJSONLReader(src io.Reader, name string, p *Profile, pseudo *Pseudonymizer, oslo *Oslo) (*jsonlReader, error) {
	in, err := gunzip(src, name)
	if err != nil {
		return nil, err
	}
	r := &jsonlReader{name: name, hash: sha256.New(), cv: newConverter(p, pseudo, oslo),
		keys: make(map[string][2]int), seen: make(map[string]bool)}
	r.br = bufio.NewReaderSize(hashReader{in, r.hash}, 64<<10)
	for c, srcs := range p.sources {
		for k, s := range srcs {
			r.keys[foldName(s)] = [2]int{c, k}
		}
	}
	return r, nil
}

// Dropped lists the keys seen so far that the profile does not map (at
// most maxDropped), by name only.
func (r *jsonlReader) Dropped() []string { return r.dropped }

// Line returns the line the last row read was on.
func (r *jsonlReader) Line() int { return r.rowLine }

func (r *jsonlReader) runIDs() (sub, cc uint32) { return r.cv.v.runIDs() }

// SHA256 returns the hash of the bytes read so far (after gzip).
func (r *jsonlReader) SHA256() (sum [32]byte) {
	r.hash.Sum(sum[:0])
	return sum
}

// next reads the next non-blank line into r.buf.
func (r *jsonlReader) next() error {
	for {
		r.buf = r.buf[:0]
		for {
			chunk, err := r.br.ReadSlice('\n')
			r.buf = append(r.buf, chunk...)
			if len(r.buf) > maxRow {
				return &FileError{File: r.name, Line: r.line + 1, Err: ErrRowTooLong}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF && len(r.buf) == 0 {
				return io.EOF
			}
			if err != nil && err != io.EOF {
				return &FileError{File: r.name, Err: fmt.Errorf("read: %w", err)}
			}
			break
		}
		r.line++
		if r.line == 1 {
			r.buf = bytes.TrimPrefix(r.buf, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(r.buf)) > 0 {
			r.rowLine = r.line
			return nil
		}
	}
}

// Read reads the next row into rec.
func (r *jsonlReader) Read(rec *ur.Record) error {
	if err := r.next(); err != nil {
		return err
	}
	if c, err := r.parse(); err != nil {
		col := ""
		if c >= 0 {
			col = colNames[c]
		}
		return &Rejection{File: r.name, Line: r.rowLine, Column: col, Err: err}
	}
	if c, err := r.cv.record(&r.raw, rec); err != nil {
		return &Rejection{File: r.name, Line: r.rowLine, Column: colNames[c], Err: err}
	}
	return nil
}

// parse reads the line's object into r.raw. Errors of encoding/json are
// never passed on: they quote the input.
func (r *jsonlReader) parse() (col int, err error) {
	r.raw, r.set = rawRow{}, [numCols][2]bool{}
	dec := json.NewDecoder(bytes.NewReader(r.buf))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return -1, ErrNotJSON
	}
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return -1, ErrNotJSON
		}
		at, mapped := r.keys[foldName(key)]
		if !mapped {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return -1, ErrNotJSON
			}
			r.drop(key)
			continue
		}
		c, k := at[0], at[1]
		if r.set[c][k] {
			return c, ErrDuplicateKey
		}
		r.set[c][k] = true
		t, err = dec.Token()
		if err != nil {
			return -1, ErrNotJSON
		}
		switch v := t.(type) {
		case string:
			r.raw[c][k] = []byte(v)
		case json.Number:
			r.raw[c][k] = []byte(v)
		case nil:
		default:
			return c, ErrJSONValue // a bool, object or array
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return -1, ErrNotJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return -1, ErrNotJSON // more than one value on the line
	}
	return -1, nil
}

func (r *jsonlReader) drop(key string) {
	key = dropName(key)
	if len(r.dropped) >= maxDropped || r.seen[key] {
		return
	}
	r.seen[key] = true
	r.dropped = append(r.dropped, key)
}
