package ingest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode/utf8"

	ur "usagereport"
)

// The kept columns of CSV v1, by position in Reader.col.
const (
	colOrg = iota
	colSubscriber
	colCostCentre
	colStartTime
	colService
	colDuration
	colVolume
	colCountry
	colCharge
	numCols
)

var colNames = [numCols]string{
	"org_number", "subscriber", "cost_centre", "start_time", "service",
	"duration_s", "volume_bytes", "country", "charge",
}

var required = [numCols]bool{colOrg: true, colSubscriber: true, colStartTime: true, colService: true, colCharge: true}

// MaxCostCentre is the longest cost centre accepted, in characters.
const MaxCostCentre = 64

// Reader reads one CSV v1 file into minimised records.
type Reader struct {
	name string
	sc   *scanner
	hash hash.Hash
	v    *Validator

	nfields int
	col     [numCols]int // field index of each kept column, -1 if absent
	want    []bool       // want[field index]: a kept column
	labels  []string     // labels[field index]: how a rejection names it
	dropped []string     // the header's columns CSV v1 does not keep (dropName)
	fields  Fields
	digest  Digest // of the records read, by Read

	chunkSize int // of ReadAll; 0 means chunkSize (tests make it small)
	// mapped, for a plain regular file, is read through memory maps (see
	// mappedFile); else src is read.
	mapped *mappedFile
}

// hashReader hashes what it reads: the file's identity is the hash of its
// decompressed content, taken in the same pass that parses it.
type hashReader struct {
	r io.Reader
	h hash.Hash
}

func (h hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// NewReader starts reading the file named name (for messages) from src:
// it detects gzip by its magic bytes, skips a byte-order mark and reads the
// header. A file without the required columns is refused with a *FileError.
//
// A FileSource of a plain regular file is mapped into memory, a window at
// a time, rather than read (see mappedFile).
func NewReader(src io.Reader, name string, pseudo *Pseudonymizer, oslo *Oslo) (*Reader, error) {
	r := &Reader{name: name, hash: sha256.New(), v: NewValidator(pseudo, oslo)}
	var in io.Reader
	if r.mapped = mapSource(src); r.mapped != nil {
		in = r.mapped
	} else {
		var err error
		if in, err = gunzip(src, name); err != nil {
			return nil, err
		}
	}
	r.sc = newScanner(hashReader{in, r.hash}, ',')
	if err := r.readHeader(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Reader) readHeader() error {
	if err := r.sc.next(); err != nil {
		if err == io.EOF {
			return &FileError{File: r.name, Err: fmt.Errorf("%w: the file is empty, a header row is required", ErrNotCSV)}
		}
		return r.fileErr(err)
	}
	r.sc.rows = 0 // the header is no data row
	row := bytes.TrimPrefix(r.sc.row, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(row) || bytes.IndexByte(row, 0) >= 0 {
		return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: the header is not UTF-8 text", ErrNotCSV)}
	}
	r.sc.row = row
	r.sc.quoted = bytes.IndexByte(row, '"') >= 0
	if r.sc.bad {
		return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: header: %v", ErrNotCSV, ErrQuote)}
	}
	if err := r.sc.split(nil); err != nil {
		return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: header: %v", ErrNotCSV, err)}
	}
	for i := range r.col {
		r.col[i] = -1
	}
	r.nfields = len(r.sc.fields)
	r.sc.nfields = r.nfields
	r.want = make([]bool, r.nfields)
	r.labels = make([]string, r.nfields)
	for i, f := range r.sc.fields {
		name := strings.ToLower(strings.TrimSpace(string(f)))
		r.labels[i] = fieldLabel(name, i)
		for c, cn := range colNames {
			if name != cn {
				continue
			}
			if r.col[c] >= 0 {
				return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("column %s appears twice in the header", cn)}
			}
			r.col[c] = i
			r.want[i] = true
		}
	}
	for i, f := range r.sc.fields {
		if !r.want[i] {
			r.dropped = append(r.dropped, dropName(string(f)))
		}
	}
	var missing []string
	for c, req := range required {
		if req && r.col[c] < 0 {
			missing = append(missing, colNames[c])
		}
	}
	if len(missing) > 0 {
		// Name only the missing columns: a file without a header would
		// otherwise put its first row into the message.
		return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: the header lacks required column(s) %s", ErrNotCSV, strings.Join(missing, ", "))}
	}
	return nil
}

func (r *Reader) fileErr(err error) error {
	line := r.sc.line
	var le lineError
	if errors.As(err, &le) {
		line, err = le.line, le.err
	}
	if errors.Is(err, ErrRowTooLong) {
		return &FileError{File: r.name, Line: line, Err: err}
	}
	return &FileError{File: r.name, Err: fmt.Errorf("read: %w", err)}
}

// Line returns the line the last row read started on.
func (r *Reader) Line() int { return r.sc.rowLine }

func (r *Reader) runIDs() (sub, cc uint32) { return r.v.runIDs() }

// SHA256 returns the hash of the decompressed content read so far; after
// io.EOF, of the whole file.
func (r *Reader) SHA256() (sum [32]byte) {
	r.hash.Sum(sum[:0])
	return sum
}

// Read reads the next row into rec. It returns io.EOF after the last row, a
// *Rejection for a bad row (rec is then undefined; go on reading), or a
// *FileError when the file cannot be read on.
func (r *Reader) Read(rec *ur.Record) error {
	if err := r.sc.next(); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return r.fileErr(err)
	}
	if r.sc.bad {
		return r.reject(r.badColumn(r.sc.badField), ErrQuote)
	}
	if !r.sc.quoted && r.nfields <= cutMax {
		if err := r.sc.cutFields(&r.fields, &r.col, r.nfields); err != nil {
			return r.reject("", err)
		}
	} else {
		if err := r.sc.split(r.want); err != nil {
			return r.reject("", err)
		}
		if len(r.sc.fields) != r.nfields {
			return r.reject("", ErrFieldCount)
		}
		for c, i := range r.col {
			r.fields[c] = nil
			if i >= 0 {
				r.fields[c] = r.sc.fields[i]
			}
		}
	}
	if c, err := r.v.Record(&r.fields, rec); err != nil {
		return r.reject(colNames[c], err)
	}
	r.digest.Add(rec)
	return nil
}

// Dropped lists the header's columns that CSV v1 does not keep, by name:
// the only thing of them that is ever read out.
func (r *Reader) Dropped() []string { return r.dropped }

// RowsRead returns the data rows read so far, blank lines not included:
// after io.EOF, every row of the file, each either returned or rejected.
func (r *Reader) RowsRead() int64 { return r.sc.rows }

// Digest returns the content digest of the records read so far (see
// Digest); after io.EOF, of every record of the file.
func (r *Reader) Digest() Digest { return r.digest }

// knownColumns are the columns usage-csv-v1 names, kept or dropped: a
// rejection may name them. Any other header is named by its position, since
// a header that is not the spec's could be anything.
var knownColumns = map[string]bool{
	"org_number": true, "subscriber": true, "user_name": true, "cost_centre": true,
	"start_time": true, "service": true, "b_number": true, "b_name": true,
	"destination": true, "duration_s": true, "volume_bytes": true, "country": true,
	"charge": true, "imei": true, "cell_id": true, "ip_address": true,
}

// fieldLabel is how a rejection names field i, whose header is name.
func fieldLabel(name string, i int) string {
	if knownColumns[name] {
		return name
	}
	return fmt.Sprintf("field %d", i+1)
}

// badColumn names field i of a row with broken quoting ("" for i < 0, a
// fault of the whole row, or a field past the header's).
func (r *Reader) badColumn(i int) string {
	if i < 0 || i >= len(r.labels) {
		return ""
	}
	return r.labels[i]
}

func (r *Reader) reject(col string, err error) error {
	return &Rejection{File: r.name, Line: r.sc.rowLine, Column: col, Err: err}
}
