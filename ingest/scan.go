package ingest

import (
	"bytes"
	"io"
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
	if !s.quoted {
		for {
			j := bytes.IndexByte(row, ',')
			if j < 0 {
				s.fields = append(s.fields, row)
				return nil
			}
			s.fields = append(s.fields, row[:j])
			row = row[j+1:]
		}
	}
	// quote is the index in row of its first quote, -1 if none: an
	// unquoted field holds a quote when it reaches that far.
	quote := bytes.IndexByte(row, '"')
	for i := 0; ; i++ {
		keep := i < len(want) && want[i]
		if quote != 0 {
			j := bytes.IndexByte(row, ',')
			f := row
			if j >= 0 {
				f = row[:j]
			}
			if quote >= 0 && quote < len(f) {
				return ErrQuote // a quote inside an unquoted field
			}
			s.fields = append(s.fields, f)
			if j < 0 {
				return nil
			}
			row = row[j+1:]
			if quote >= 0 {
				quote -= j + 1
			}
			continue
		}
		// Quoted field: find the closing quote, unescaping "" only when
		// the field is kept.
		row = row[1:]
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
