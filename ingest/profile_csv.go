package ingest

import (
	"crypto/sha256"
	"encoding/csv"
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

// csvReader reads a delimited file through a profile. It is encoding/csv
// with the profile's separator, over the file decoded from its character
// set: correctness over speed (CSV v1 itself has the fast Reader).
//
// encoding/csv holds a whole record in memory, so a stray quote makes it
// read to the end of the file before the row is rejected.
type csvReader struct {
	name    string
	cr      *csv.Reader
	hash    hash.Hash
	cv      *converter
	nfields int
	idx     [numCols][2]int // header position of each source column, -1 if absent
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
	r.cr = csv.NewReader(in)
	r.cr.Comma = p.sep
	r.cr.FieldsPerRecord = -1 // counted here, to reject the row and go on
	r.cr.ReuseRecord = true
	if err := r.readHeader(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *csvReader) readHeader() error {
	head, err := r.cr.Read()
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return &FileError{File: r.name, Err: fmt.Errorf("%w: the file is empty, a header row is required", ErrNotCSV)}
	case errors.As(err, &pe):
		return &FileError{File: r.name, Line: pe.StartLine, Err: fmt.Errorf("%w: header: %v", ErrNotCSV, pe.Err)}
	case err != nil:
		return &FileError{File: r.name, Err: fmt.Errorf("read: %w", err)}
	}
	head[0] = strings.TrimPrefix(head[0], "\ufeff")
	for _, h := range head {
		if !utf8.ValidString(h) || strings.IndexByte(h, 0) >= 0 {
			return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: the header is not text in the profile's encoding", ErrNotCSV)}
		}
	}
	r.nfields = len(head)
	pos := make(map[string]int, len(head))
	for i, h := range head {
		if _, dup := pos[foldName(h)]; !dup {
			pos[foldName(h)] = i
		}
	}
	mapped := make([]bool, len(head))
	var missing []string
	p := r.cv.p
	for c, srcs := range p.sources {
		r.idx[c] = [2]int{-1, -1}
		for k, s := range srcs {
			i, ok := pos[foldName(s)]
			if !ok {
				if required[c] {
					missing = append(missing, fmt.Sprintf("%s (%q)", colNames[c], s))
				}
				continue
			}
			r.idx[c][k] = i
			mapped[i] = true
		}
	}
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

// SHA256 returns the hash of the bytes read so far (after gzip, before
// character decoding).
func (r *csvReader) SHA256() (sum [32]byte) {
	r.hash.Sum(sum[:0])
	return sum
}

// Read reads the next row into rec.
func (r *csvReader) Read(rec *ur.Record) error {
	fields, err := r.cr.Read()
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return io.EOF
	case errors.As(err, &pe):
		r.line = pe.StartLine
		return &Rejection{File: r.name, Line: r.line, Err: ErrQuote}
	case err != nil:
		return &FileError{File: r.name, Err: fmt.Errorf("read: %w", err)}
	}
	r.line, _ = r.cr.FieldPos(0)
	if len(fields) != r.nfields {
		return &Rejection{File: r.name, Line: r.line, Err: ErrFieldCount}
	}
	for c := range r.idx {
		for k, i := range r.idx[c] {
			r.raw[c][k] = nil
			if i >= 0 {
				r.raw[c][k] = append(r.raw[c][k][:0:0], fields[i]...)
			}
		}
	}
	if c, err := r.cv.record(&r.raw, rec); err != nil {
		return &Rejection{File: r.name, Line: r.line, Column: colNames[c], Err: err}
	}
	return nil
}
