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

// BenchmarkSplitQuoted is split on a chunk's rows of the benchmark file
// that hold a quote (about half of them), which cutFields leaves to it.
func BenchmarkSplitQuoted(b *testing.B) {
	data := benchData()
	r, err := NewReader(bytes.NewReader(data), "bench.csv", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))[1:]
	lines = slices.DeleteFunc(lines[:chunkSize/200], func(l []byte) bool { return bytes.IndexByte(l, '"') < 0 })
	var sc scanner
	sc.sep, sc.quoted = ',', true
	cpuMetric(b, func() {
		for _, l := range lines {
			sc.row = l
			if err := sc.split(r.want); err != nil || len(sc.fields) != r.nfields {
				b.Fatal("bad row")
			}
		}
	})
}
