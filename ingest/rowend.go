package ingest

import "bytes"

// Where a row ends: the quoting rules of usage-csv-v1 ("Bad rows"), used by
// the scanner and by the parallel reader's workers.

// findRow finds the end of the row that starts at data[0], separated by
// sep, in a file whose header has nfields fields (-1: not known yet). eof
// says that nothing follows data. ok is false when data is too short to
// tell; the caller reads more and asks again.
//
// The rules (usage-csv-v1, "Bad rows"): a quote opens a quoted field only
// as a field's first character, and a quoted field may span lines. A quote
// elsewhere in an unquoted field, a closing quote followed by anything but
// a separator or a line end, or a quoted field that does not close into a
// row of the header's field count within maxRow bytes, is broken quoting:
// the row is then its first line only, marked bad, and the next row starts
// on the next line. So a quoting error costs its own line and never the
// rows after it, and a row's extent depends only on the bytes from its
// start: the parallel reader and the row-by-row reader cut the same rows.
func findRow(data []byte, sep byte, nfields int, eof bool) (rowSpan, bool) {
	return findRowOpt(data, sep, nfields, eof, false)
}

// findRowOpt is findRow; lazy takes a whole line with quotes for a row,
// unsure, without checking its quoting (see scanner.lazy).
func findRowOpt(data []byte, sep byte, nfields int, eof, lazy bool) (rowSpan, bool) {
	i := bytes.IndexByte(data, '\n')
	if i > maxRow || i < 0 && len(data) > maxRow {
		return rowSpan{tooLong: true}, true
	}
	line := data
	if i >= 0 {
		line = data[:i]
	} else if !eof {
		return rowSpan{}, false // no row ends without a line end but the last
	}
	q := bytes.IndexByte(line, '"')
	if q < 0 {
		return lineSpan(data, i), true // the usual row: one line, no quote
	}
	if i >= 0 && lazy {
		sp := lineSpan(data, i)
		sp.quoted, sp.unsure = true, true
		return sp, true
	}
	if i >= 0 && soundLine(line, q, sep) {
		sp := lineSpan(data, i) // the next most usual: quoted fields on one line
		sp.quoted = true
		return sp, true
	}
	return quotedRow(data, sep, nfields, eof)
}

// soundLine reports whether line, whose first quote is at q, is a whole
// row of sound quoting: every quote opens a field or closes it (or is
// doubled inside it), and every field closes on the line. Anything else
// is for quotedRow to decide.
func soundLine(line []byte, q int, sep byte) bool {
	for {
		if q > 0 && line[q-1] != sep {
			return false // a quote inside an unquoted field
		}
		k := q + 1
		for { // the closing quote
			c := bytes.IndexByte(line[k:], '"')
			if c < 0 {
				return false // the field runs on past the line
			}
			k += c + 1
			if k < len(line) && line[k] == '"' {
				k++ // a doubled quote
				continue
			}
			break
		}
		switch {
		case k == len(line), k == len(line)-1 && line[k] == '\r':
			return true
		case line[k] != sep:
			return false // text after the closing quote
		}
		next := bytes.IndexByte(line[k+1:], '"')
		if next < 0 {
			return true
		}
		q = k + 1 + next
	}
}

// lineSpan is the span of data's first line, which ends at i (-1: at the
// end of data, which is the end of the file).
func lineSpan(data []byte, i int) rowSpan {
	sp := rowSpan{end: len(data), next: len(data), lines: 1}
	if i >= 0 {
		sp.end, sp.next = i, i+1
	}
	if sp.end > 0 && data[sp.end-1] == '\r' {
		sp.end--
	}
	return sp
}

// firstLine marks data's first line a bad row, broken at field f.
func firstLine(data []byte, eof bool, f int) (rowSpan, bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 && !eof {
		return rowSpan{}, false
	}
	sp := lineSpan(data, i)
	sp.quoted, sp.bad, sp.badField = true, true, f
	return sp, true
}

// quotedRow is findRow for a row whose first line holds a quote: it walks
// the row from quote to quote.
func quotedRow(data []byte, sep byte, nfields int, eof bool) (rowSpan, bool) {
	lim, limited := data, false
	if len(lim) > maxRow {
		lim, limited = lim[:maxRow], true
	}
	// more is the answer when the row runs past lim: read on, or, past
	// maxRow, the quoting is broken.
	seps := 0      // separators outside quotes so far: the field is seps
	multi := false // a quoted field holds a line end
	cross := -1    // with multi: the field that ran past the first line
	// bad rejects the first line for a fault in field f. A fault found
	// past the first line is named by the field that ran past it: a
	// reader that sees the file only up to that line end (a chunk) finds
	// that field unterminated, and must name the same field.
	bad := func(f int) (rowSpan, bool) {
		if multi {
			f = cross
		}
		return firstLine(data, eof, f)
	}
	more := func(f int) (rowSpan, bool) {
		if limited {
			return bad(f)
		}
		return rowSpan{}, false
	}
	pos := 0
	done := func(end, next int) (rowSpan, bool) {
		if multi && nfields >= 0 && seps+1 != nfields {
			return bad(-1)
		}
		sp := rowSpan{end: end, next: next, quoted: true}
		if sp.end > 0 && lim[sp.end-1] == '\r' {
			sp.end-- // an unquoted last field's \r before its line end
		}
		sp.lines = 1 // one line, with its line end or the last one
		if multi {
			sp.lines = bytes.Count(lim[:next], []byte{'\n'})
			if next == len(lim) && (next == 0 || lim[next-1] != '\n') {
				sp.lines++ // the last line, without a line end
			}
		}
		return sp, true
	}
	for {
		if pos < len(lim) && lim[pos] == '"' {
			k := pos + 1
			for {
				q := bytes.IndexByte(lim[k:], '"')
				if q < 0 {
					if !eof || limited {
						return more(seps)
					}
					return bad(seps) // never closes
				}
				q += k
				if q+1 == len(lim) && !eof {
					return more(seps) // "" or the end of the field?
				}
				if q+1 < len(lim) && lim[q+1] == '"' {
					k = q + 2
					continue
				}
				if !multi && bytes.IndexByte(lim[pos:q], '\n') >= 0 {
					multi, cross = true, seps
				}
				pos = q + 1
				break
			}
			if pos == len(lim) {
				if !eof || limited {
					return more(seps)
				}
				return done(pos, pos)
			}
			switch c := lim[pos]; {
			case c == sep:
				seps++
				pos++
				continue
			case c == '\n':
				return done(pos, pos+1)
			case c == '\r' && pos+1 < len(lim) && lim[pos+1] == '\n':
				return done(pos, pos+2)
			case c == '\r' && pos+1 == len(lim):
				if !eof || limited {
					return more(seps)
				}
				return done(pos, pos+1) // a last \r before the end of the file
			}
			return bad(seps) // text after the closing quote
		}
		// Unquoted fields up to the next quote or line end.
		rest := lim[pos:]
		nl := bytes.IndexByte(rest, '\n')
		text := rest
		if nl >= 0 {
			text = rest[:nl]
		}
		q := bytes.IndexByte(text, '"')
		if q < 0 {
			seps += bytes.Count(text, []byte{sep})
			if nl < 0 {
				if !eof || limited {
					return more(-1)
				}
				return done(len(lim), len(lim))
			}
			return done(pos+nl, pos+nl+1)
		}
		seps += bytes.Count(text[:q], []byte{sep})
		if q > 0 && text[q-1] != sep {
			return bad(seps) // a quote inside an unquoted field
		}
		pos += q
	}
}
