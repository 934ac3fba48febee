package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
)

// maxRow bounds one row, quotes included, so that a stray quote cannot make
// the reader hold the rest of a file in memory. A quoted field that has not
// closed into a whole row within maxRow bytes of its row's start is broken
// quoting: the row is its first line (see findRow).
const maxRow = 1 << 20

// scanner splits CSV into rows on the read buffer. It never copies a field:
// fields are slices of the buffer (or of scratch, for a quoted field with an
// escaped quote), valid until the next row.
//
// Where a row ends is decided by findRow, the one place that knows the
// quoting rules; the parallel reader's workers use it too.
type scanner struct {
	src  io.Reader
	buf  []byte
	r, w int // unread bytes are buf[r:w]
	eof  bool
	line int // lines consumed so far

	sep     byte // the field separator
	nfields int  // the header's field count; -1 while reading the header
	// lazy takes a line with quotes for a row without checking its
	// quoting (unsure): split checks it anyway, and recut cuts the row
	// again when split finds fault. Only for a scanner over all its
	// input (a chunk), where the row's start is still in the buffer.
	lazy     bool
	unsure   bool
	rowStart int // where the current row starts in buf

	row      []byte // the current row, without its line end
	rowLine  int    // line the current row starts on
	quoted   bool   // the row holds a quote
	bad      bool   // the row's quoting is broken: it is its first line only
	badField int    // with bad: the field (0-based) at fault, -1 for the row
	rows     int64  // rows returned so far, blank lines not included
	fields   [][]byte
	scratch  []byte
	ends     [cutMax]uint32 // see cutFields
	// lineEnds is ends for cutLine, one place on: lineEnds[k+1] is the
	// end of field k, and lineEnds[0], ^0, the end of the field before
	// the first (its start less one, wrapping). Room is left for the 8
	// ends cutLine stores at a time past the last.
	lineEnds [cutMax + 9]uint32
	// masks, when set, mark buf's line ends, quotes and separators (see
	// charMasks): only for a scanner over all its input (a chunk), whose
	// buffer never moves.
	masks *charMasks
}

func newScanner(src io.Reader, sep byte) *scanner {
	return &scanner{src: src, buf: make([]byte, 256<<10), sep: sep, nfields: -1}
}

// fill reads more input, keeping buf[r:w]. It grows the buffer when a row
// does not fit, up to 2*maxRow.
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
		nb := make([]byte, min(2*len(s.buf), 2*maxRow))
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

// next advances to the next row, skipping blank lines. It returns io.EOF
// after the last row, ErrRowTooLong for a line longer than maxRow (the
// file is refused: a row cannot be told from the next), or a read error.
func (s *scanner) next() error {
	for {
		if s.r == s.w && (s.eof || s.src == nil) {
			return io.EOF
		}
		var sp rowSpan
		var ok bool
		if s.masks != nil {
			sp, ok = s.findRowMasked()
		} else {
			sp, ok = findRowOpt(s.buf[s.r:s.w], s.sep, s.nfields, s.eof, s.lazy)
		}
		if sp.tooLong {
			s.line++
			return ErrRowTooLong
		}
		if !ok {
			if s.src == nil {
				return errPartial
			}
			if s.w-s.r > maxRow {
				s.line++
				return ErrRowTooLong
			}
			if err := s.fill(); err != nil {
				return err
			}
			continue
		}
		row := s.buf[s.r : s.r+sp.end]
		s.rowStart = s.r
		s.rowLine = s.line + 1
		s.line += sp.lines
		s.r += sp.next
		if len(row) == 0 {
			continue // blank line
		}
		s.row, s.quoted, s.bad, s.badField, s.unsure = row, sp.quoted, sp.bad, sp.badField, sp.unsure
		s.rows++
		return nil
	}
}

// rowSpan is where a row ends, as findRow found it.
type rowSpan struct {
	end      int  // end of the row's text, its line end (\n or \r\n) excluded
	next     int  // where the next row starts
	lines    int  // lines the row takes, its own line end included
	quoted   bool // the row holds a quote
	bad      bool // broken quoting: the row is its first line only
	badField int  // with bad: the field (0-based) at fault, -1 for the row
	tooLong  bool // the row's first line is longer than maxRow
	unsure   bool // a line with quotes taken for a row unchecked (lazy)
}

// errPartial is next's answer, on a scanner over a chunk of whole lines
// (src nil) that is not the file's end, for a row that runs past the
// chunk: it starts at buf[r:].
var errPartial = errors.New("a row runs past the chunk")

// recut cuts the current row again with quotedRow, after a lazy scanner
// took a line with quotes for a row and split found its quoting at fault.
// It returns false, and unreads the row, when the row runs past the
// scanner's chunk (see errPartial).
func (s *scanner) recut() bool {
	sp, ok := quotedRow(s.buf[s.rowStart:s.w], s.sep, s.nfields, s.eof)
	if !ok {
		s.r, s.line = s.rowStart, s.rowLine-1
		s.rows--
		return false
	}
	s.row = s.buf[s.rowStart : s.rowStart+sp.end]
	s.line = s.rowLine - 1 + sp.lines
	s.r = s.rowStart + sp.next
	s.quoted, s.bad, s.badField, s.unsure = true, sp.bad, sp.badField, false
	return true
}

// split cuts the current row, whose quoting findRow found sound, into
// fields. want[i] says whether field i is needed: a field that is not
// wanted is skipped without being unquoted or copied. It returns ErrQuote
// for a malformed quoted field.
func (s *scanner) split(want []bool) error {
	s.fields = s.fields[:0]
	s.scratch = s.scratch[:0]
	row := s.row
	quote := -1
	if s.quoted {
		quote = bytes.IndexByte(row, '"')
	}
	sep := s.sep
	for {
		if quote < 0 { // the rest is unquoted fields
			var last []byte
			s.fields, last = splitSep(s.fields, row, sep)
			s.fields = append(s.fields, last)
			return nil
		}
		// The fields before the quote are unquoted; the quote must
		// start the next one.
		var last []byte
		s.fields, last = splitSep(s.fields, row[:quote], sep)
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
		if row[0] != sep {
			return ErrQuote // text after the closing quote
		}
		row = row[1:]
		quote = bytes.IndexByte(row, '"')
	}
}

// splitSep appends to fields each field of b that sep ends, and returns
// what follows the last sep (all of b if none). It reads b eight bytes at
// a time: the usual row has a dozen short fields, and a call of
// bytes.IndexByte for each cost more.
func splitSep(fields [][]byte, b []byte, sep byte) ([][]byte, []byte) {
	const (
		ones = 0x0101010101010101
		low7 = 0x7f7f7f7f7f7f7f7f
	)
	seps := uint64(sep) * ones
	from, i := 0, 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:]) ^ seps // 0 where a sep is
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
		if b[i] == sep {
			fields = append(fields, b[from:i])
			from = i + 1
		}
	}
	return fields, b[from:]
}

// cutMax is how many field ends cutSep keeps: a header of more fields
// takes split's way.
const cutMax = 64

// cutSep is splitSep for a row without quotes, the usual one, that keeps
// only where each field ends: ends[k] is the end of field k, for the
// first cutMax fields. It returns the number of fields, counting past
// cutMax (ends then holds no meaning). A field costs one store of a
// 4-byte offset here, where split appends a 24-byte slice header to a
// growing slice.
func cutSep(b []byte, sep byte, ends *[cutMax]uint32) int {
	seps := uint64(sep) * 0x0101010101010101
	word := func(i int) uint64 { return sepBits(binary.LittleEndian.Uint64(b[i:]), seps) }
	n, i := 0, 0
	// 64 bytes at a time: their seps as one 64-bit mask, and one loop over
	// them. A loop a word would end at random (a word holds 0 to 8 seps)
	// and mispredict its end nearly every word.
	for ; i+64 <= len(b); i += 64 {
		m := word(i) | word(i+8)<<8 | word(i+16)<<16 | word(i+24)<<24 |
			word(i+32)<<32 | word(i+40)<<40 | word(i+48)<<48 | word(i+56)<<56
		for m != 0 {
			ends[n&(cutMax-1)] = uint32(i + bits.TrailingZeros64(m))
			n++
			m &= m - 1
		}
	}
	// The rest: whole words, then bytes.
	var m uint64
	from := i
	for ; i+8 <= len(b); i += 8 {
		m |= word(i) << (i - from)
	}
	for ; m != 0; m &= m - 1 {
		ends[n&(cutMax-1)] = uint32(from + bits.TrailingZeros64(m))
		n++
	}
	for ; i < len(b); i++ {
		if b[i] == sep {
			ends[n&(cutMax-1)] = uint32(i)
			n++
		}
	}
	ends[n&(cutMax-1)] = uint32(len(b))
	return n + 1
}

// sepBits returns the bytes of x that equal those of seps as 8 bits, bit
// k for byte k (little-endian).
func sepBits(x, seps uint64) uint64 {
	const (
		low7 = 0x7f7f7f7f7f7f7f7f
		// gather moves the low bit of each byte of a word to bit k of the
		// top byte, for byte k.
		gather = 0x0102040810204080
	)
	x ^= seps // 0 where a sep is
	// The top bit of each byte that is 0, exactly, as in splitSep.
	return ^((x&low7 + low7) | x | low7) >> 7 * gather >> 56
}

// cutFields fills f with the kept fields of the current row, which holds
// no quote, for a file of nfields fields (at most cutMax) whose kept
// column c is field col[c] (-1: absent). It returns ErrFieldCount for a
// row of another number of fields.
func (s *scanner) cutFields(f *Fields, col *[numCols]int, nfields int) error {
	row := s.row
	if cutSep(row, s.sep, &s.ends) != nfields {
		return ErrFieldCount
	}
	for c, i := range col {
		switch {
		case i < 0:
			f[c] = nil
		case i == 0:
			f[c] = row[:s.ends[0]]
		default:
			f[c] = row[s.ends[i-1]+1 : s.ends[i]]
		}
	}
	return nil
}

// findRowMasked is findRowOpt, for a scanner with masks: it reads the row's
// line end and whether the line holds a quote from the masks, and leaves
// anything but a line within maxRow to findRowOpt.
func (s *scanner) findRowMasked() (rowSpan, bool) {
	data := s.buf[s.r:s.w]
	i := nextBit(s.masks.nl, s.r, s.w)
	if i < 0 || i-s.r > maxRow {
		return findRowOpt(data, s.sep, s.nfields, s.eof, s.lazy)
	}
	i -= s.r
	if nextBit(s.masks.quote, s.r, s.r+i) < 0 {
		return lineSpan(data, i), true // the usual row: one line, no quote
	}
	if s.lazy {
		sp := lineSpan(data, i)
		sp.quoted, sp.unsure = true, true
		return sp, true
	}
	return findRowOpt(data, s.sep, s.nfields, s.eof, s.lazy)
}

// cutMasked is cutFields for a scanner with masks, for a row with quotes
// too: it reads the separators from the masks, and drops those inside
// quotes by the parity of the quotes before them (prefixXor). It fills f
// only for a row whose quoting split accepts, where it gives split's
// fields, unescaped; for a row with broken quoting (a quote inside an
// unquoted field, text after a closing quote, a field that does not close
// on the line) it returns false, and leaves the row to split, which then
// decides and names the fault as before. It returns ErrFieldCount, with
// true, for a row of sound quoting and another number of fields.
func (s *scanner) cutMasked(f *Fields, col *[numCols]int, nfields int) (bool, error) {
	row := s.row
	a := s.rowStart
	b := a + len(row)
	ends := &s.ends
	n := 0
	escaped := false // some quoted field holds a doubled quote
	if a < b {
		m := s.masks
		w, last := a>>6, (b-1)>>6
		lo := ^uint64(0) << (a & 63)   // the row's bits of word w
		var inside uint64              // all ones after an odd number of quotes
		var prevSep, prevClose uint64  // bit 0: the last word's bit 63 was a separator outside quotes / a closing quote
		start := uint64(1) << (a & 63) // the row's first byte, in word w
		var esc uint64                 // a closing quote followed by an opening one: a doubled quote
		for {
			keep := lo
			if w == last {
				keep &= ^uint64(0) >> (63 - (b-1)&63)
			}
			q := m.quote[w] & keep
			sp := m.sep[w] & keep
			if q|inside|prevClose != 0 {
				px := prefixXor(q) ^ inside
				sp &^= px
				open, cls := q&px, q&^px
				// An opening quote starts the row or follows a separator, or
				// a closing quote (the pair is a doubled quote); a closing
				// quote is followed by a separator or an opening quote, or
				// ends the row (checked after the loop).
				if open&^(sp<<1|prevSep|cls<<1|prevClose|start) != 0 {
					return false, nil
				}
				follows := (cls<<1 | prevClose) & keep
				if follows&^(sp|open) != 0 {
					return false, nil
				}
				esc |= (cls<<1 | prevClose) & open
				prevClose = cls >> 63
				inside = -(px >> 63)
			} else {
				prevClose = 0
			}
			prevSep = sp >> 63
			base := w<<6 - a
			for ; sp != 0; sp &= sp - 1 {
				ends[n&(cutMax-1)] = uint32(base + bits.TrailingZeros64(sp))
				n++
			}
			if w == last {
				break
			}
			w++
			lo, start = ^uint64(0), 0
		}
		if inside != 0 {
			return false, nil // a field runs past the line
		}
		if esc != 0 {
			s.scratch = s.scratch[:0]
		}
		escaped = esc != 0
	}
	ends[n&(cutMax-1)] = uint32(len(row))
	n++
	if n != nfields {
		return true, ErrFieldCount
	}
	quoted := s.quoted
	for c, i := range col {
		if i < 0 {
			f[c] = nil
			continue
		}
		from := 0
		if i > 0 {
			from = int(ends[(i-1)&(cutMax-1)]) + 1
		}
		fb := row[from:ends[i&(cutMax-1)]]
		if quoted && len(fb) > 0 && fb[0] == '"' {
			fb = fb[1 : len(fb)-1]
			if escaped && bytes.IndexByte(fb, '"') >= 0 {
				fb = s.unescape(fb)
			}
		}
		f[c] = fb
	}
	return true, nil
}

// unescape returns quoted field content fb, whose quotes are doubled, with
// each pair made one quote, in scratch.
func (s *scanner) unescape(fb []byte) []byte {
	from := len(s.scratch)
	for {
		i := bytes.IndexByte(fb, '"')
		if i < 0 {
			s.scratch = append(s.scratch, fb...)
			return s.scratch[from:]
		}
		s.scratch = append(s.scratch, fb[:i+1]...)
		fb = fb[i+2:]
	}
}

// cutLine is next and cutMasked in one walk over the masks' words, for the
// usual row of a chunk: a whole line, not blank and within maxRow, whose
// quoting cutMasked accepts (no quote, or quoted fields that close on the
// line). next finds the line end, then whether the line holds a quote,
// then cutMasked reads the same words again for the separators: three
// walks, each ending at a word that varies from row to row, and so a
// mispredicted branch each.
//
// With true it has taken the row, as next would have, and filled f as
// cutMasked would have, or it returns ErrFieldCount, as cutMasked does.
// With false it has changed nothing but scratch space: the row is for next
// and cutMasked (or split) to decide, as before. It never takes a row that
// they would take otherwise.
func (s *scanner) cutLine(f *Fields, col *[numCols]int, nfields int) (bool, error) {
	a := s.r
	if a >= s.w {
		return false, nil
	}
	m := s.masks
	ends := &s.lineEnds
	ends[0] = ^uint32(0)
	n := 0
	w, last := a>>6, (s.w-1)>>6
	lo := ^uint64(0) << (a & 63)   // the row's bits of word w
	start := uint64(1) << (a & 63) // the row's first byte, in word w
	var inside uint64              // all ones after an odd number of quotes
	var prevSep, prevClose uint64  // bit 0: the last word's bit 63 was a separator outside quotes / a closing quote
	var esc, quotes uint64         // a doubled quote; every quote of the row
	e := 0                         // the line end
	for {
		if w > last || w<<6-a > maxRow {
			return false, nil // no line end in the chunk, or too far
		}
		if w >= m.built {
			m.extend(w)
		}
		keep := lo
		nlw := m.nl[w] & lo
		if nlw != 0 {
			e = w<<6 + bits.TrailingZeros64(nlw)
			end := nlw & -nlw // the line end's bit
			if e > a && s.buf[e-1] == '\r' {
				if e&63 == 0 {
					// The \r is the last word's: rare, and for next.
					return false, nil
				}
				end >>= 1
			}
			keep &= end - 1
		}
		q := m.quote[w] & keep
		sp := m.sep[w] & keep
		if q|inside|prevClose != 0 {
			// As in cutMasked.
			px := prefixXor(q) ^ inside
			sp &^= px
			open, cls := q&px, q&^px
			if open&^(sp<<1|prevSep|cls<<1|prevClose|start) != 0 {
				return false, nil
			}
			follows := (cls<<1 | prevClose) & keep
			if follows&^(sp|open) != 0 {
				return false, nil
			}
			esc |= (cls<<1 | prevClose) & open
			quotes |= q
			prevClose = cls >> 63
			inside = -(px >> 63)
		} else {
			prevClose = 0
		}
		prevSep = sp >> 63
		// The separators' offsets, 8 at a time without a branch: a word
		// holds some 5 of them, and a loop that ends after each would
		// mispredict its end nearly every word.
		base := uint32(w<<6 - a)
		cnt := bits.OnesCount64(sp)
		for j := n; sp != 0; j += 8 {
			k := j & (cutMax - 1)
			ends[k+1] = base + uint32(bits.TrailingZeros64(sp))
			sp &= sp - 1
			ends[k+2] = base + uint32(bits.TrailingZeros64(sp))
			sp &= sp - 1
			ends[k+3] = base + uint32(bits.TrailingZeros64(sp))
			sp &= sp - 1
			ends[k+4] = base + uint32(bits.TrailingZeros64(sp))
			sp &= sp - 1
			ends[k+5] = base + uint32(bits.TrailingZeros64(sp))
			sp &= sp - 1
			ends[k+6] = base + uint32(bits.TrailingZeros64(sp))
			sp &= sp - 1
			ends[k+7] = base + uint32(bits.TrailingZeros64(sp))
			sp &= sp - 1
			ends[k+8] = base + uint32(bits.TrailingZeros64(sp))
			sp &= sp - 1
		}
		n += cnt
		if nlw != 0 {
			break
		}
		w++
		lo, start = ^uint64(0), 0
	}
	if inside != 0 || e-a > maxRow || e >= s.w {
		return false, nil // a field runs past the line; a row too long
	}
	b := e
	if b > a && s.buf[b-1] == '\r' {
		b--
	}
	if b == a {
		return false, nil // a blank line
	}
	// The row is taken, as next takes it.
	row := s.buf[a:b]
	s.rowStart, s.rowLine = a, s.line+1
	s.line++
	s.r = e + 1
	s.row, s.quoted, s.bad, s.badField, s.unsure = row, quotes != 0, false, 0, false
	s.rows++
	ends[n&(cutMax-1)+1] = uint32(len(row))
	n++
	if n != nfields {
		return true, ErrFieldCount
	}
	if quotes == 0 { // the usual row: no field to unquote
		for c, i := range col {
			if i < 0 {
				f[c] = nil
				continue
			}
			k := i & (cutMax - 1)
			f[c] = row[ends[k]+1 : ends[k+1]]
		}
		return true, nil
	}
	if esc != 0 {
		s.scratch = s.scratch[:0]
	}
	escaped := esc != 0
	for c, i := range col {
		if i < 0 {
			f[c] = nil
			continue
		}
		k := i & (cutMax - 1)
		fb := row[ends[k]+1 : ends[k+1]]
		if len(fb) > 0 && fb[0] == '"' {
			fb = fb[1 : len(fb)-1]
			if escaped && bytes.IndexByte(fb, '"') >= 0 {
				fb = s.unescape(fb)
			}
		}
		f[c] = fb
	}
	return true, nil
}
