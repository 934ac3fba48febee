package ingest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"

	ur "usagereport"
)

// csvReader reads a delimited file through a profile: the file decoded
// from its character set to UTF-8, then cut into rows and fields by the
// same scanner as CSV v1 (findRow's quoting rules, with the profile's
// separator), so that a stray quote costs its own line here too.
type csvReader struct {
	name    string
	sc      *scanner
	hash    hash.Hash
	cv      *converter
	nfields int
	idx     [numCols][2]int // header position of each source column, -1 if absent
	want    []bool          // want[header position]: a mapped column
	labels  []string        // labels[header position]: how a rejection names it
	dropped []string
	line    int
	raw     rawRow
}

func newCSVReader(src io.Reader, name string, p *Profile, pseudo *Pseudonymizer, oslo *Oslo) (*csvReader, error) {
	in, err := gunzip(src, name)
	if err != nil {
		return nil, err
	}
	r := &csvReader{name: name, hash: sha256.New(), cv: newConverter(p, pseudo, oslo)}
	in = hashReader{in, r.hash}
	switch p.encoding {
	case encLatin1:
		in = transform.NewReader(in, charmap.ISO8859_1.NewDecoder())
	case encWindows1252:
		in = transform.NewReader(in, charmap.Windows1252.NewDecoder())
	}
	r.sc = newScanner(in, byte(p.sep)) // an ASCII separator (see ParseProfile)
	if err := r.readHeader(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *csvReader) readHeader() error {
	err := r.sc.next()
	switch {
	case err == io.EOF:
		return &FileError{File: r.name, Err: fmt.Errorf("%w: the file is empty, a header row is required", ErrNotCSV)}
	case errors.Is(err, ErrRowTooLong):
		return &FileError{File: r.name, Line: r.sc.line, Err: err}
	case err != nil:
		return &FileError{File: r.name, Err: fmt.Errorf("read: %w", err)}
	}
	r.sc.rows = 0 // the header is no data row
	if r.sc.bad {
		return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: header: %v", ErrNotCSV, ErrQuote)}
	}
	if err := r.sc.split(nil); err != nil {
		return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: header: %v", ErrNotCSV, err)}
	}
	head := make([]string, len(r.sc.fields))
	for i, f := range r.sc.fields {
		head[i] = string(f)
	}
	head[0] = strings.TrimPrefix(head[0], "\ufeff")
	for _, h := range head {
		if !utf8.ValidString(h) || strings.IndexByte(h, 0) >= 0 {
			return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: the header is not text in the profile's encoding", ErrNotCSV)}
		}
	}
	r.nfields = len(head)
	r.sc.nfields = r.nfields
	r.want = make([]bool, len(head))
	r.labels = make([]string, len(head))
	for i := range head {
		r.labels[i] = fmt.Sprintf("field %d", i+1)
	}
	pos := make(map[string]int, len(head))
	for i, h := range head {
		if _, dup := pos[foldName(h)]; !dup {
			pos[foldName(h)] = i
		}
	}
	mapped := make([]bool, len(head))
	for c := range r.idx {
		r.idx[c] = [2]int{-1, -1}
	}
	missing, _ := r.cv.p.findSources(pos, func(c, k, i int) error {
		r.idx[c][k] = i
		mapped[i] = true
		r.want[i] = true
		r.labels[i] = colNames[c]
		return nil
	})
	if len(missing) > 0 {
		// Name only what the profile names: a file without a header would
		// otherwise put its first row into the message.
		return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: the header lacks the column(s) the profile maps to %s", ErrNotCSV, strings.Join(missing, ", "))}
	}
	for i, h := range head {
		switch first := pos[foldName(h)]; {
		case mapped[i]:
		case mapped[first]:
			return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("mapped column %q appears twice in the header", strings.TrimSpace(h))}
		default:
			r.dropped = append(r.dropped, dropName(h))
		}
	}
	return nil
}

// Dropped lists the header's columns that the profile does not map, by
// name: the only thing of them that is ever read out.
func (r *csvReader) Dropped() []string { return r.dropped }

// Line returns the line the last row read started on.
func (r *csvReader) Line() int { return r.line }

func (r *csvReader) runIDs() (sub, cc uint32) { return r.cv.v.runIDs() }

// SHA256 returns the hash of the bytes read so far (after gzip, before
// character decoding).
func (r *csvReader) SHA256() (sum [32]byte) {
	r.hash.Sum(sum[:0])
	return sum
}

// RowsRead returns the data rows read so far, blank lines not included.
func (r *csvReader) RowsRead() int64 { return r.sc.rows }

// Read reads the next row into rec.
func (r *csvReader) Read(rec *ur.Record) error {
	err := r.sc.next()
	switch {
	case err == io.EOF:
		return io.EOF
	case errors.Is(err, ErrRowTooLong):
		return &FileError{File: r.name, Line: r.sc.line, Err: err}
	case err != nil:
		return &FileError{File: r.name, Err: fmt.Errorf("read: %w", err)}
	}
	r.line = r.sc.rowLine
	if r.sc.bad {
		col := ""
		if f := r.sc.badField; f >= 0 && f < len(r.labels) {
			col = r.labels[f]
		}
		return &Rejection{File: r.name, Line: r.line, Column: col, Err: ErrQuote}
	}
	if err := r.sc.split(r.want); err != nil {
		return &Rejection{File: r.name, Line: r.line, Err: err}
	}
	fields := r.sc.fields
	if len(fields) != r.nfields {
		return &Rejection{File: r.name, Line: r.line, Err: ErrFieldCount}
	}
	// The values stay in the scanner's buffer: the converter only reads
	// them, before the next row. A copy a value was garbage a row, and
	// with a million distinct subscribers the garbage let the heap grow
	// to twice what the pseudonym cache and dictionaries hold.
	for c := range r.idx {
		for k, i := range r.idx[c] {
			r.raw[c][k] = nil
			if i >= 0 {
				r.raw[c][k] = fields[i]
			}
		}
	}
	if c, err := r.cv.record(&r.raw, rec); err != nil {
		return &Rejection{File: r.name, Line: r.line, Column: colNames[c], Err: err}
	}
	return nil
}
