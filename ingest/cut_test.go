package ingest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestCutSep checks cutSep against splitSep, the cut that keeps every
// field, on rows around the 8-byte words it reads and past cutMax fields.
func TestCutSep(t *testing.T) {
	tests := []struct {
		name string
		row  string
		sep  byte
	}{
		{"empty", "", ','},
		{"one field", "abc", ','},
		{"only a sep", ",", ','},
		{"seps only", ",,,,,,,,,,,,,,,,,", ','},
		{"a word exactly", "abc,efg,", ','},
		{"sep at each word's end", "abcdefg,abcdefg,abcdefg,", ','},
		{"sep at each word's start", ",bcdefgh,bcdefgh,bcdefgh", ','},
		{"bytes above 0x7f", "\xff\xfe,\x80\xac,\xc3\xa5,\x2c\xac", ','},
		{"a good row", goodRow, ','},
		{"semicolons", "a;b,c;d", ';'},
		{"cutMax fields", strings.Repeat("x,", cutMax-1) + "x", ','},
		{"past cutMax", strings.Repeat("ab,", 3*cutMax), ','},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := []byte(tt.row)
			all, last := splitSep(nil, row, tt.sep)
			all = append(all, last)
			var ends [cutMax]uint32
			n := cutSep(row, tt.sep, &ends)
			if n != len(all) {
				t.Fatalf("cutSep counts %d fields, splitSep %d", n, len(all))
			}
			if n > cutMax {
				return // ends hold no meaning
			}
			start := 0
			for k := range n {
				if got := row[start:ends[k]]; !bytes.Equal(got, all[k]) {
					t.Errorf("field %d = %q, want %q", k, got, all[k])
				}
				start = int(ends[k]) + 1
			}
		})
	}
}

// BenchmarkCut is the field cutting of the benchmark file's rows without
// quotes (nearly all): split,
// which keeps every field as a slice, against cutFields, which keeps where
// each ends and fills the kept columns.
func BenchmarkCut(b *testing.B) {
	data := benchData()
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	r, err := NewReader(bytes.NewReader(data), "bench.csv", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	lines = slices.DeleteFunc(lines[1:], func(l []byte) bool { return bytes.IndexByte(l, '"') >= 0 })
	// A chunk's worth, as a worker cuts rows that the reader has just
	// brought into the cache, not the whole file from memory.
	lines = lines[:chunkSize/200]
	b.Run("split", func(b *testing.B) {
		b.ReportMetric(float64(len(lines)), "rows/op")
		var f Fields
		var sc scanner
		sc.sep = ','
		cpuMetric(b, func() {
			for _, l := range lines {
				sc.row = l
				if err := sc.split(r.want); err != nil || len(sc.fields) != r.nfields {
					b.Fatal("bad row")
				}
				for c, i := range r.col {
					f[c] = sc.fields[i]
				}
			}
		})
	})
	b.Run("cutMasked", func(b *testing.B) { benchCutMasked(b, r, lines) })
	b.Run("nextCutMasked", func(b *testing.B) { benchNextCutMasked(b, r, lines) })
	b.Run("cutLine", func(b *testing.B) { benchCutLine(b, r, lines) })
	b.Run("cutFields", func(b *testing.B) {
		b.ReportMetric(float64(len(lines)), "rows/op")
		var f Fields
		var sc scanner
		sc.sep = ','
		cpuMetric(b, func() {
			for _, l := range lines {
				sc.row = l
				if err := sc.cutFields(&f, &r.col, r.nfields); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkSplitQuoted is the cut of a chunk's rows of the benchmark file
// that hold a quote (about half of them): split, which cut them before,
// against cutMasked, which the parallel reader uses now.
func BenchmarkSplitQuoted(b *testing.B) {
	data := benchData()
	r, err := NewReader(bytes.NewReader(data), "bench.csv", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))[1:]
	lines = slices.DeleteFunc(lines[:chunkSize/200], func(l []byte) bool { return bytes.IndexByte(l, '"') < 0 })
	b.Run("split", func(b *testing.B) {
		b.ReportMetric(float64(len(lines)), "rows/op")
		var f Fields
		var sc scanner
		sc.sep, sc.quoted = ',', true
		cpuMetric(b, func() {
			for _, l := range lines {
				sc.row = l
				if err := sc.split(r.want); err != nil || len(sc.fields) != r.nfields {
					b.Fatal("bad row")
				}
				for c, i := range r.col {
					f[c] = sc.fields[i]
				}
			}
		})
	})
	b.Run("cutMasked", func(b *testing.B) { benchCutMasked(b, r, lines) })
	b.Run("nextCutMasked", func(b *testing.B) { benchNextCutMasked(b, r, lines) })
	b.Run("cutLine", func(b *testing.B) { benchCutLine(b, r, lines) })
}

// benchCutMasked is cutMasked on lines, the masks of their chunk built
// each time, as a worker builds them.
func benchCutMasked(b *testing.B, r *Reader, lines [][]byte) {
	b.ReportMetric(float64(len(lines)), "rows/op")
	buf := append(bytes.Join(lines, []byte("\n")), '\n')
	starts := make([]int, len(lines))
	for i, at := 0, 0; i < len(lines); i++ {
		starts[i] = at
		at += len(lines[i]) + 1
	}
	var f Fields
	var m charMasks
	sc := scanner{sep: ',', buf: buf, masks: &m}
	cpuMetric(b, func() {
		m.build(buf, ',')
		for i, l := range lines {
			sc.row, sc.rowStart, sc.quoted = l, starts[i], bytes.IndexByte(l, '"') >= 0
			if ok, err := sc.cutMasked(&f, &r.col, r.nfields); !ok || err != nil {
				b.Fatal("bad row")
			}
		}
	})
}

// benchNextCutMasked is next and cutMasked on lines, the masks of their chunk
// built each time, as a worker built them and cut its rows before cutLine.
func benchNextCutMasked(b *testing.B, r *Reader, lines [][]byte) {
	b.ReportMetric(float64(len(lines)), "rows/op")
	buf := append(bytes.Join(lines, []byte("\n")), '\n')
	var f Fields
	var m charMasks
	cpuMetric(b, func() {
		m.build(buf, ',')
		sc := scanner{sep: ',', buf: buf, w: len(buf), nfields: r.nfields, lazy: true, masks: &m}
		for range lines {
			if err := sc.next(); err != nil {
				b.Fatal(err)
			}
			if ok, err := sc.cutMasked(&f, &r.col, r.nfields); !ok || err != nil {
				b.Fatal("bad row")
			}
		}
	})
}

// benchCutLine is cutLine on lines, the masks of their chunk built each
// time, as a worker builds them: it finds each row and cuts it.
func benchCutLine(b *testing.B, r *Reader, lines [][]byte) {
	b.ReportMetric(float64(len(lines)), "rows/op")
	buf := append(bytes.Join(lines, []byte("\n")), '\n')
	var f Fields
	var m charMasks
	cpuMetric(b, func() {
		m.build(buf, ',')
		sc := scanner{sep: ',', buf: buf, w: len(buf), nfields: r.nfields, lazy: true, masks: &m}
		for range lines {
			if ok, err := sc.cutLine(&f, &r.col, r.nfields); !ok || err != nil {
				b.Fatal("bad row")
			}
		}
	})
}

// FuzzCutMasked holds cutMasked, the parallel reader's cut of a one-line
// row, to split: where it cuts a row, split accepts the row and gives the
// same kept fields, or it finds another field count as split does; a row
// it leaves to split is one that split refuses. pad places the row at
// another offset of the masks' words.
func FuzzCutMasked(f *testing.F) {
	for _, s := range []string{
		`a,"b,c",d`, `"",x,""`, `"a""b",c,d`, `a,b"c,d`, `"a"x,b,c`, `a,"b`, `"a,b,c"`, `a,b,c`, `,,`,
		`9,+47,"Salg, Oslo",2026-10-01T10:00:00Z,"Mobile, Telenor",voice,1,2,NO,"1.5"`,
		`"x","Faktura, ""mobil"" 0 kr",y`, `,,"",,"a,,,b",`, `"""",a,b`, `"a""",""""""`,
	} {
		f.Add(s, uint16(0b101), uint8(3), uint8(0))
	}
	f.Fuzz(func(t *testing.T, row string, keep uint16, nf, pad uint8) {
		if row == "" || strings.IndexByte(row, '\n') >= 0 || strings.HasSuffix(row, "\r") {
			return // not a row cutMasked sees
		}
		checkCutMasked(t, row, keep, int(nf%12)+1, int(pad%140))
	})
}

// TestCutMaskedOffsets is FuzzCutMasked's check for rows whose quotes and
// separators fall on each side of a word's end, at every offset.
func TestCutMaskedOffsets(t *testing.T) {
	x := strings.Repeat("x", 61)
	rows := []string{
		`"` + x + `"x,b`, `"` + x + `",b`, `"` + x + `""",b`, `"` + x + `"",b"`, `a,"` + x + `"x`,
		x + `,"a","b"`, x + `,,"a"x`, x + `,"a"",b"`, `"` + x + x + `,` + x + `"`, `"a"` + x + `,b`,
		x + `a"b,c`, `"` + x + x + `""` + x + `",b`,
	}
	for _, row := range rows {
		for pad := range 140 {
			for nf := 1; nf <= 4; nf++ {
				checkCutMasked(t, row, 0b1011, nf, pad)
			}
		}
	}
}

// checkCutMasked compares cutMasked with split on row, which starts pad
// bytes into its chunk, for a header of nfields fields of which keep marks
// the kept ones.
func checkCutMasked(t *testing.T, row string, keep uint16, nfields, pad int) {
	t.Helper()
	{
		want := make([]bool, nfields)
		var col [numCols]int
		c := 0
		for i := range nfields {
			if keep&(1<<i) != 0 && c < numCols {
				want[i], col[c] = true, i
				c++
			}
		}
		for ; c < numCols; c++ {
			col[c] = -1
		}
		lead := ""
		if pad > 0 {
			lead = strings.Repeat("x", pad-1) + "\n"
		}
		buf := []byte(lead + row + "\n" + `"a,b`)
		var m charMasks
		m.build(buf, ',')
		start := pad
		fast := scanner{sep: ',', buf: buf, rowStart: start, row: buf[start : start+len(row)], quoted: strings.Contains(row, `"`), masks: &m}
		var got Fields
		ok, err := fast.cutMasked(&got, &col, nfields)

		slow := scanner{sep: ',', row: []byte(row), quoted: true}
		serr := slow.split(want)
		switch {
		case !ok:
			if serr == nil {
				t.Errorf("cutMasked leaves %q to split, which cuts it into %d fields", row, len(slow.fields))
			}
		case serr != nil:
			t.Errorf("cutMasked cuts %q, split refuses it: %v", row, serr)
		case err == ErrFieldCount:
			if len(slow.fields) == nfields {
				t.Errorf("cutMasked counts other than %d fields in %q, split %d", nfields, row, len(slow.fields))
			}
		case err != nil:
			t.Errorf("cutMasked(%q): %v", row, err)
		case len(slow.fields) != nfields:
			t.Errorf("cutMasked counts %d fields in %q, split %d", nfields, row, len(slow.fields))
		default:
			for c, i := range col {
				if i >= 0 && string(got[c]) != string(slow.fields[i]) {
					t.Errorf("%q: field %d = %q, split %q", row, i, got[c], slow.fields[i])
				}
				if i < 0 && got[c] != nil {
					t.Errorf("%q: absent column %d = %q", row, c, got[c])
				}
			}
		}
	}
}

// FuzzCutLine holds cutLine to next and cutMasked, the way parseChunk took
// before it: over a chunk of any bytes, each row that cutLine takes, next
// takes too, with the same line numbers, and cutMasked cuts it into the
// same kept fields or finds the same wrong field count; a row cutLine
// leaves, it leaves untouched.
func FuzzCutLine(f *testing.F) {
	for _, s := range []string{
		"a,b,c\nd,e,f\n", "a,\"b,c\",d\r\n\"x\"\"y\",,\r\n", "\n\r\na,b\n", "a,b\"c,d\n\"a,b\nc\",d,e\n",
		"9,+47,\"Salg, Oslo\",2026-10-01T10:00:00Z\r\n,,,\n", "\"a\"\r\n", "a,b,c", "\"\"\"\",a,b\n",
		strings.Repeat("x", 62) + "\"a\"\r\nb,c,d\n", strings.Repeat("x,", 40) + "\n",
	} {
		f.Add(s, uint16(0b101), uint8(3), uint8(0))
	}
	f.Fuzz(func(t *testing.T, chunk string, keep uint16, nf, pad uint8) {
		nfields := int(nf%12) + 1
		var col [numCols]int
		c := 0
		for i := range nfields {
			if keep&(1<<i) != 0 && c < numCols {
				col[c] = i
				c++
			}
		}
		for ; c < numCols; c++ {
			col[c] = -1
		}
		// pad places the chunk's rows at other offsets of the masks' words.
		buf := []byte(strings.Repeat("\n", int(pad%70)) + chunk)
		// The slow scanner's masks are built whole; the fast one's a word
		// at a time as cutLine reads them, as a worker builds them, but
		// for the size of the window.
		var m, lazy charMasks
		m.build(buf, ',')
		lazy.start(buf, ',')
		lazy.window = 1
		eof := pad&0x80 != 0
		slow := scanner{sep: ',', buf: buf, w: len(buf), eof: eof, nfields: nfields, lazy: true, masks: &m}
		fast := slow
		fast.masks = &lazy
		for {
			var got, want Fields
			before := fast
			ok, err := fast.cutLine(&got, &col, nfields)
			if !ok {
				if fast.r != before.r || fast.line != before.line || fast.rows != before.rows {
					t.Fatalf("cutLine leaves the row at %d, and moves on to %d", before.r, fast.r)
				}
				lazy.buildAll() // as nextFields does
				if fast.next() != nil {
					break
				}
				if slow.next() != nil {
					t.Fatal("next takes a row in one scanner only")
				}
				continue
			}
			if serr := slow.next(); serr != nil {
				t.Fatalf("cutLine takes the row at %d, next refuses it: %v", before.r, serr)
			}
			if slow.bad {
				t.Fatalf("cutLine takes the row at %d, next finds its quoting broken", before.r)
			}
			sok, serr := slow.cutMasked(&want, &col, nfields)
			if !sok {
				t.Fatalf("cutLine takes %q, cutMasked leaves it", slow.row)
			}
			if fast.r != slow.r || fast.line != slow.line || fast.rowLine != slow.rowLine || fast.rows != slow.rows || fast.rowStart != slow.rowStart ||
				string(fast.row) != string(slow.row) || fast.quoted != slow.quoted || fast.badField != slow.badField {
				t.Fatalf("cutLine's row %q at %d (line %d), next's %q at %d (line %d)", fast.row, fast.r, fast.line, slow.row, slow.r, slow.line)
			}
			if err != serr {
				t.Fatalf("%q: cutLine %v, cutMasked %v", fast.row, err, serr)
			}
			if err == nil {
				for c := range got {
					if string(got[c]) != string(want[c]) || (got[c] == nil) != (want[c] == nil) {
						t.Fatalf("%q: column %d: cutLine %q, cutMasked %q", fast.row, c, got[c], want[c])
					}
				}
			}
		}
	})
}
