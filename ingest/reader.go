package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
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
	name   string
	sc     *scanner
	hash   hash.Hash
	pseudo *Pseudonymizer
	oslo   *Oslo

	nfields int
	col     [numCols]int // field index of each kept column, -1 if absent
	want    []bool       // want[field index]: a kept column
	ccs     map[string]string
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
func NewReader(src io.Reader, name string, pseudo *Pseudonymizer, oslo *Oslo) (*Reader, error) {
	br := bufio.NewReaderSize(src, 64<<10)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FileError{File: name, Err: fmt.Errorf("gzip header: %w", err)}
		}
		in = zr
	}
	r := &Reader{name: name, hash: sha256.New(), pseudo: pseudo, oslo: oslo, ccs: make(map[string]string)}
	r.sc = newScanner(hashReader{in, r.hash})
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
	row := bytes.TrimPrefix(r.sc.row, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(row) || bytes.IndexByte(row, 0) >= 0 {
		return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: the header is not UTF-8 text", ErrNotCSV)}
	}
	r.sc.row = row
	r.sc.quoted = bytes.IndexByte(row, '"') >= 0
	if err := r.sc.split(nil); err != nil {
		return &FileError{File: r.name, Line: 1, Err: fmt.Errorf("%w: header: %v", ErrNotCSV, err)}
	}
	for i := range r.col {
		r.col[i] = -1
	}
	r.nfields = len(r.sc.fields)
	r.want = make([]bool, r.nfields)
	for i, f := range r.sc.fields {
		name := strings.ToLower(strings.TrimSpace(string(f)))
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
	if errors.Is(err, ErrRowTooLong) {
		return &FileError{File: r.name, Line: r.sc.line, Err: err}
	}
	return &FileError{File: r.name, Err: fmt.Errorf("read: %w", err)}
}

// Line returns the line the last row read started on.
func (r *Reader) Line() int { return r.sc.rowLine }

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
	if err := r.sc.split(r.want); err != nil {
		return r.reject("", err)
	}
	if len(r.sc.fields) != r.nfields {
		return r.reject("", ErrFieldCount)
	}
	return r.parse(rec)
}

func (r *Reader) reject(col string, err error) error {
	return &Rejection{File: r.name, Line: r.sc.rowLine, Column: col, Err: err}
}

func (r *Reader) field(c int) []byte {
	if i := r.col[c]; i >= 0 {
		return r.sc.fields[i]
	}
	return nil
}

// parse validates the kept fields and fills rec. Checks run in column order
// so that a row with several faults is reported by its first.
func (r *Reader) parse(rec *ur.Record) error {
	for c, req := range required {
		if req && len(bytes.TrimSpace(r.field(c))) == 0 {
			return r.reject(colNames[c], ErrMissing)
		}
	}
	var err error
	if rec.Org, err = ur.ParseOrg(bytes.TrimSpace(r.field(colOrg))); err != nil {
		return r.reject(colNames[colOrg], ErrOrgNumber)
	}
	sub := bytes.TrimSpace(r.field(colSubscriber))
	if !validE164(sub) {
		return r.reject(colNames[colSubscriber], ErrSubscriber)
	}
	cc := bytes.TrimSpace(r.field(colCostCentre))
	if !utf8.Valid(cc) {
		return r.reject(colNames[colCostCentre], ErrEncoding)
	}
	if utf8.RuneCount(cc) > MaxCostCentre {
		return r.reject(colNames[colCostCentre], ErrCostCentre)
	}
	if hasControl(cc) {
		return r.reject(colNames[colCostCentre], ErrControl)
	}
	t, ok := parseTime(bytes.TrimSpace(r.field(colStartTime)))
	if !ok {
		return r.reject(colNames[colStartTime], ErrTime)
	}
	if rec.Service, ok = ur.ParseService(bytes.TrimSpace(r.field(colService))); !ok {
		return r.reject(colNames[colService], ErrService)
	}
	if rec.DurationS, ok = parseCount(r.field(colDuration)); !ok {
		return r.reject(colNames[colDuration], ErrInteger)
	}
	if rec.VolumeBytes, ok = parseCount(r.field(colVolume)); !ok {
		return r.reject(colNames[colVolume], ErrInteger)
	}
	if rec.Zone, ok = ur.ZoneOf(bytes.TrimSpace(r.field(colCountry))); !ok {
		return r.reject(colNames[colCountry], ErrCountry)
	}
	rec.Charge, err = ur.ParseAmount(bytes.TrimSpace(r.field(colCharge)))
	switch {
	case errors.Is(err, ur.ErrAmountRange):
		return r.reject(colNames[colCharge], ErrAmountRange)
	case err != nil:
		return r.reject(colNames[colCharge], ErrAmount)
	}
	// The row is good: only now does anything leave the buffer.
	rec.Subscriber = r.pseudo.Pseudonym(sub)
	rec.Month = r.oslo.Month(t)
	rec.CostCentre = r.costCentre(cc)
	return nil
}

// costCentre interns cost centre names: one string per distinct name, not
// per row. "(unassigned)" written out is the same as empty.
func (r *Reader) costCentre(b []byte) string {
	if s, ok := r.ccs[string(b)]; ok {
		return s
	}
	s := string(b)
	if s == ur.Unassigned {
		s = ""
	}
	r.ccs[s] = s
	r.ccs[string(b)] = s
	return s
}

// parseCount reads an optional whole number >= 0; empty is 0.
func parseCount(b []byte) (int64, bool) {
	b = bytes.TrimSpace(b)
	if len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hasControl reports whether b holds an ASCII control character: a report
// cell cannot show one, and a workbook would change it.
func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
