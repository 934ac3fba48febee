package ingest

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"
)

// maxRow bounds one row, quotes included, so that a stray quote cannot make
// the reader hold the rest of a file in memory.
const maxRow = 1 << 20

// scanner splits CSV into rows on the read buffer. It never copies a field:
// fields are slices of the buffer (or of scratch, for a quoted field with an
// escaped quote), valid until the next row.
type scanner struct {
	src  io.Reader
	buf  []byte
	r, w int // unread bytes are buf[r:w]
	eof  bool
	err  error
	line int // lines consumed so far

	row     []byte // the current row, without its line end
	rowLine int    // line the current row starts on
	quoted  bool   // the row holds a quote
	fields  [][]byte
	scratch []byte
}

func newScanner(src io.Reader) *scanner {
	return &scanner{src: src, buf: make([]byte, 256<<10)}
}

// fill reads more input, keeping buf[r:w]. It grows the buffer when a row
// does not fit, up to maxRow.
func (s *scanner) fill() error {
	if s.eof {
		return io.EOF
	}
	if s.r > 0 {
		s.w = copy(s.buf, s.buf[s.r:s.w])
		s.r = 0
	}
	if s.w == len(s.buf) {
		if len(s.buf) >= 2*maxRow {
			return ErrRowTooLong
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.w])
		s.buf = nb
	}
	n, err := s.src.Read(s.buf[s.w:])
	s.w += n
	if err == io.EOF {
		s.eof = true
		return nil
	}
	return err
}

// next advances to the next row. It returns io.EOF after the last row,
// ErrRowTooLong for a runaway row, or a read error.
func (s *scanner) next() error {
	for {
		end, quoted, nl, ok := s.findEnd()
		if !ok {
			if s.eof {
				if s.r == s.w {
					return io.EOF
				}
				end, quoted, nl = s.w, bytes.IndexByte(s.buf[s.r:s.w], '"') >= 0, s.countLines(s.r, s.w)
			} else {
				if s.w-s.r > maxRow {
					s.line++
					return ErrRowTooLong
				}
				if err := s.fill(); err != nil {
					return err
				}
				continue
			}
		}
		row := s.buf[s.r:end]
		s.rowLine = s.line + 1
		s.line += nl
		s.r = end
		if s.r < s.w && s.buf[s.r] == '\n' {
			s.r++
		}
		if n := len(row); n > 0 && row[n-1] == '\r' {
			row = row[:n-1]
		}
		if len(row) == 0 {
			continue // blank line
		}
		s.row, s.quoted = row, quoted
		return nil
	}
}

// findEnd finds the newline that ends the row at buf[r:], outside quotes.
// nl counts the lines the row spans (its end included).
func (s *scanner) findEnd() (end int, quoted bool, nl int, ok bool) {
	data := s.buf[s.r:s.w]
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return 0, false, 0, false
	}
	if bytes.IndexByte(data[:i], '"') < 0 {
		return s.r + i, false, 1, true // fast path: no quote in the row
	}
	// A newline ends the row when the quotes before it are even in
	// number: count them from line to line rather than byte by byte.
	in := false
	from := 0
	for {
		nl++
		in = in != (bytes.Count(data[from:i], []byte{'"'})%2 == 1)
		if !in {
			return s.r + i, true, nl, true
		}
		from = i + 1
		j := bytes.IndexByte(data[from:], '\n')
		if j < 0 {
			return 0, true, 0, false
		}
		i = from + j
	}
}

func (s *scanner) countLines(from, to int) int {
	return bytes.Count(s.buf[from:to], []byte{'\n'}) + 1
}

// split cuts the current row into fields. want[i] says whether field i is
// needed: a field that is not wanted is skipped without being unquoted or
// copied. It returns ErrQuote for a malformed quoted field.
func (s *scanner) split(want []bool) error {
	s.fields = s.fields[:0]
	s.scratch = s.scratch[:0]
	row := s.row
	quote := -1
	if s.quoted {
		quote = bytes.IndexByte(row, '"')
	}
	for {
		if quote < 0 { // the rest is unquoted fields
			var last []byte
			s.fields, last = splitCommas(s.fields, row)
			s.fields = append(s.fields, last)
			return nil
		}
		// The fields before the quote are unquoted; the quote must
		// start the next one.
		var last []byte
		s.fields, last = splitCommas(s.fields, row[:quote])
		if len(last) > 0 {
			return ErrQuote // a quote inside an unquoted field
		}
		// Quoted field: find the closing quote, unescaping "" only when
		// the field is kept.
		keep := len(s.fields) < len(want) && want[len(s.fields)]
		row = row[quote+1:]
		start := len(s.scratch)
		var f []byte
		simple := true
		k := 0
		for {
			q := bytes.IndexByte(row[k:], '"')
			if q < 0 {
				return ErrQuote // unterminated
			}
			q += k
			if q+1 < len(row) && row[q+1] == '"' {
				if keep {
					s.scratch = append(s.scratch, row[k:q+1]...)
				}
				simple = false
				k = q + 2
				continue
			}
			if simple {
				f = row[:q]
			} else if keep {
				s.scratch = append(s.scratch, row[k:q]...)
				f = s.scratch[start:]
			}
			row = row[q+1:]
			break
		}
		s.fields = append(s.fields, f)
		if len(row) == 0 {
			return nil
		}
		if row[0] != ',' {
			return ErrQuote // text after the closing quote
		}
		row = row[1:]
		quote = bytes.IndexByte(row, '"')
	}
}

// splitCommas appends to fields each field of b that a comma ends, and
// returns what follows the last comma (all of b if none). It reads b eight
// bytes at a time: the usual row has a dozen short fields, and a call of
// bytes.IndexByte for each cost more.
func splitCommas(fields [][]byte, b []byte) ([][]byte, []byte) {
	const (
		ones   = 0x0101010101010101
		low7   = 0x7f7f7f7f7f7f7f7f
		commas = ',' * ones
	)
	from, i := 0, 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:]) ^ commas // 0 where a comma is
		// The top bit of each byte that is 0, exactly: no carry crosses
		// a byte, unlike the shorter (x-ones)&^x test.
		m := ^((x&low7 + low7) | x | low7)
		for m != 0 {
			j := i + bits.TrailingZeros64(m)/8
			fields = append(fields, b[from:j])
			from = j + 1
			m &= m - 1
		}
	}
	for ; i < len(b); i++ {
		if b[i] == ',' {
			fields = append(fields, b[from:i])
			from = i + 1
		}
	}
	return fields, b[from:]
}
