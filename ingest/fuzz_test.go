package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
	"usagereport/fixtures"
)

// FuzzScanner compares the buffer scanner with encoding/csv, the
// straightforward reader, on any input without carriage returns (which
// encoding/csv rewrites inside quotes): where encoding/csv reads the whole
// input, both must find the same rows and fields. On any input, every line
// must belong to exactly one row or be blank (see checkLines).
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		"a,b,c\n1,2,3\n",
		"a,\"b,\n\"\"x\"\"\",c\n",
		"\"unterminated\n1,2\n",
		"a\"b,c\n",
		"\n\n,\n",
		"\"a\"\"\",\"\"\n",
		"a,\"b\nc\"x\nd,e\n",
		header + goodRow + "\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r") {
			return
		}
		cr := csv.NewReader(strings.NewReader(s))
		cr.FieldsPerRecord = -1
		want, wantErr := cr.ReadAll()

		sc := newScanner(strings.NewReader(s), ',')
		sc.buf = make([]byte, 16) // small, so rows straddle refills
		var got [][]string
		var spans [][2]int
		bad := false
		for {
			err := sc.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("scanner: %v", err)
			}
			spans = append(spans, [2]int{sc.rowLine, sc.line})
			if sc.bad {
				bad = true
				continue
			}
			want := make([]bool, strings.Count(string(sc.row), ",")+1)
			for i := range want {
				want[i] = true
			}
			if err := sc.split(want); err != nil {
				t.Fatalf("split of a row findRow passed: %v", err)
			}
			var row []string
			for _, f := range sc.fields {
				row = append(row, string(f))
			}
			got = append(got, row)
		}
		checkLines(t, s, spans)
		if int(sc.rows) != len(spans) {
			t.Errorf("scanner counted %d rows, returned %d", sc.rows, len(spans))
		}
		if wantErr == nil {
			if bad {
				t.Errorf("encoding/csv reads the input, the scanner found broken quoting")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows differ (-encoding/csv +scanner):\n%s", diff)
			}
		}
	})
}

// checkLines checks that the row spans (first and last line, 1-based)
// follow one another and cover every line of s that is not blank, each
// exactly once: every line is in one row, stored or rejected.
func checkLines(t *testing.T, s string, spans [][2]int) {
	t.Helper()
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	owner := make([]int, len(lines)+1) // owner[line]: 1 + the row holding it
	prev := 0
	for i, sp := range spans {
		if sp[0] <= prev || sp[1] < sp[0] || sp[1] > len(lines) {
			t.Fatalf("row %d spans lines %d-%d after a row ending on line %d, of %d lines", i, sp[0], sp[1], prev, len(lines))
		}
		for l := sp[0]; l <= sp[1]; l++ {
			owner[l] = i + 1
		}
		prev = sp[1]
	}
	for l := 1; l <= len(lines); l++ {
		if owner[l] == 0 && strings.TrimRight(lines[l-1], "\r\n") != "" {
			t.Errorf("line %d (%q) is in no row", l, lines[l-1])
		}
	}
}

// FuzzReader feeds anything to the whole reader: it must not panic, every
// rejection must name a line and a known reason, and no message may hold
// the canary that every input carries in a dropped column.
func FuzzReader(f *testing.F) {
	f.Add(goodRow + "\n" + replaceField(0, "1") + "\n")
	f.Add(replaceField(12, "\"1,5\"") + "\n" + `"x` + "\n")
	f.Fuzz(func(t *testing.T, body string) {
		p, _ := NewPseudonymizer(testKey)
		o, _ := NewOslo()
		data := header + body + "\n" + strings.ReplaceAll(goodRow, "CANARY", "CANARY") + "\n"
		r, err := NewReader(strings.NewReader(data), "export.csv", p, o)
		if err != nil {
			t.Fatalf("header refused: %v", err)
		}
		var returned int64 // records and rejections
		for {
			var rec ur.Record
			err := r.Read(&rec)
			if err == io.EOF {
				if r.RowsRead() != returned {
					t.Errorf("%d rows read, %d stored or rejected", r.RowsRead(), returned)
				}
				return
			}
			returned++
			var rej *Rejection
			var fe *FileError
			switch {
			case errors.As(err, &rej):
				if rej.Line < 2 || rej.Err == nil {
					t.Errorf("rejection without position or reason: %+v", rej)
				}
				if strings.Contains(rej.Error(), "CANARY") && !strings.Contains(body, "CANARY") {
					t.Errorf("rejection holds content: %v", rej)
				}
			case errors.As(err, &fe):
				return // the file is refused: nothing is stored
			case err != nil:
				t.Fatalf("unexpected error type %T: %v", err, err)
			default:
				if rec.Service >= ur.NumServices || rec.Zone >= ur.NumZones {
					t.Errorf("record out of range: %+v", rec)
				}
			}
		}
	})
}

// FuzzReadAllMatchesRead compares the parallel chunked reader with the
// straightforward row-by-row one: the same records and rejections, in the
// same order, with chunks small enough that rows straddle them.
func FuzzReadAllMatchesRead(f *testing.F) {
	f.Add(goodRow+"\n"+replaceField(0, "1")+"\n"+goodRow, uint8(7))
	f.Add(replaceField(7, "\"a\n\"\"b,\n\"")+"\r\n\n"+goodRow+"\n", uint8(1))
	f.Add(replaceField(2, `"x`)+"\n"+goodRow+"\n", uint8(30))
	f.Fuzz(func(t *testing.T, body string, chunk uint8) {
		data := header + body
		seq := readBoth(t, data, 0)
		par := readBoth(t, data, int(chunk)+1)
		if diff := cmp.Diff(seq, par, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
			t.Errorf("Read and ReadAll differ (-Read +ReadAll):\n%s", diff)
		}
	})
}

type readResult struct {
	Recs    []ur.Record
	Rejs    []Rejection
	FileErr string
	SHA     [32]byte
	Read    int64    // RowsRead
	Digest  [32]byte // Digest().Sum()
}

// readBoth reads data with Read (chunk 0) or ReadAll with that chunk size.
func readBoth(t *testing.T, data string, chunk int) readResult {
	p, _ := NewPseudonymizer(testKey)
	o, _ := NewOslo()
	r, err := NewReader(strings.NewReader(data), "export.csv", p, o)
	if err != nil {
		return readResult{FileErr: err.Error()}
	}
	var res readResult
	if chunk == 0 {
		for {
			var rec ur.Record
			err := r.Read(&rec)
			var rej *Rejection
			if err == io.EOF {
				break
			} else if errors.As(err, &rej) {
				res.Rejs = append(res.Rejs, *rej)
			} else if err != nil {
				res.FileErr = err.Error()
				break
			} else {
				res.Recs = append(res.Recs, rec)
			}
		}
	} else {
		r.chunkSize = chunk
		err := r.ReadAll(context.Background(), func(rec *ur.Record) error {
			res.Recs = append(res.Recs, *rec)
			return nil
		}, func(rej *Rejection) { res.Rejs = append(res.Rejs, *rej) })
		if err != nil {
			res.FileErr = err.Error()
		}
	}
	if res.FileErr == "" {
		res.SHA = r.SHA256()
		res.Read = r.RowsRead()
		res.Digest = r.Digest().Sum()
	}
	return res
}

// FuzzSoundLine holds findRow's shortcut for a one-line row with quotes to
// quotedRow, which walks any row: the same span for every input.
func FuzzSoundLine(f *testing.F) {
	for _, s := range []string{"a,\"b\",c\n", "\"a\"\"\",b\r\nx", "a,\"b\nc\",d\n", "a\"b,c\n", "\"a\"x,b\n", "\"\",\"\"\n"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, eof bool) {
		i := strings.IndexByte(s, '\n')
		if i < 0 || !strings.Contains(s[:i], `"`) {
			return
		}
		for _, n := range []int{-1, 3} {
			a, okA := findRow([]byte(s), ',', n, eof)
			b, okB := quotedRow([]byte(s), ',', n, eof)
			if a != b || okA != okB {
				t.Errorf("nfields %d: findRow %+v %v, quotedRow %+v %v", n, a, okA, b, okB)
			}
		}
	})
}

// BenchmarkDigest is the cost of the content digest per record.
func BenchmarkDigest(b *testing.B) {
	recs := make([]ur.Record, 1024)
	for i := range recs {
		recs[i] = ur.Record{Org: 974760673, Month: 24321, CostCentre: "Salg, Kristiansand", DurationS: int64(i), Charge: 12500}
		recs[i].Subscriber[3] = byte(i)
	}
	var d Digest
	for b.Loop() {
		for i := range recs {
			d.Add(&recs[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

// TestReadAllMatchesReadOnBrokenRows is FuzzReadAllMatchesRead's check on
// a generated file with bad values and bad quoting of every kind, quoted
// line ends, blank lines and a last row without a line end, with LF and
// with CRLF line ends, in chunks of the usual size and of small ones.
func TestReadAllMatchesReadOnBrokenRows(t *testing.T) {
	rows := 40_000
	if testing.Short() {
		rows = 4_000
	}
	var gen bytes.Buffer
	if err := fixtures.Generate(context.Background(), &gen, fixtures.Config{Rows: rows, Seed: 21, BadRows: rows / 100}); err != nil {
		t.Fatal(err)
	}
	data, _, err := fixtures.BreakQuoting(gen.Bytes(), rows/100, rows/1000, 21)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("\n"), []byte("\n\n"), 3)
	data = bytes.TrimSuffix(data, []byte("\n"))
	for name, file := range map[string][]byte{"LF": data, "CRLF": bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))} {
		seq := readBoth(t, string(file), 0)
		if len(seq.Rejs) < rows/60 || len(seq.Recs) < rows*9/10 {
			t.Fatalf("%s: %d records, %d rejections: the generator changed?", name, len(seq.Recs), len(seq.Rejs))
		}
		for _, chunk := range []int{chunkSize, 4 << 10} {
			par := readBoth(t, string(file), chunk)
			if diff := cmp.Diff(seq, par, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
				t.Errorf("%s, chunks of %d: Read and ReadAll differ (-Read +ReadAll):\n%s", name, chunk, diff)
			}
		}
	}
}

// TestReadAllCarriedRows holds ReadAll to Read on a file where many small
// chunks begin inside a quoted line end, so that the consumer parses them
// again from the unfinished row carried over (consume's carry). Run under
// the race detector (scripts/test does, for this test), it also checks
// that the chunk's bytes are copied before the chunk goes back to the
// pool, where the producer may take it and read into it.
func TestReadAllCarriedRows(t *testing.T) {
	rows := 6_000
	var gen bytes.Buffer
	if err := fixtures.Generate(context.Background(), &gen, fixtures.Config{Rows: rows, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	data, broken, err := fixtures.BreakQuoting(gen.Bytes(), 0, rows/2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(broken.MultiLine) < rows/4 {
		t.Fatalf("%d rows with a quoted line end: the fixtures changed?", len(broken.MultiLine))
	}
	seq := readBoth(t, string(data), 0)
	if len(seq.Recs) < rows*9/10 {
		t.Fatalf("%d records of %d rows: the fixtures changed?", len(seq.Recs), rows)
	}
	for _, chunk := range []int{300, 1 << 10} {
		par := readBoth(t, string(data), chunk)
		if diff := cmp.Diff(seq, par, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
			t.Errorf("chunks of %d: Read and ReadAll differ (-Read +ReadAll):\n%s", chunk, diff)
		}
	}
}
