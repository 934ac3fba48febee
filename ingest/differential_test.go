package ingest

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

// scanRows cuts s into rows with the scanner, the header's field count
// known, and returns the fields of every row (nil for a row with broken
// quoting). Line ends inside quoted fields are made \n, as encoding/csv
// makes them.
func scanRows(t *testing.T, s string) [][]string {
	t.Helper()
	sc := newScanner(strings.NewReader(s), ',')
	sc.buf = make([]byte, 8)
	var rows [][]string
	for {
		err := sc.next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("scanner: %v", err)
		}
		if sc.bad {
			rows = append(rows, nil)
			continue
		}
		want := make([]bool, 64)
		for i := range want {
			want[i] = true
		}
		if err := sc.split(want); err != nil {
			t.Fatalf("split: %v", err)
		}
		var row []string
		for _, f := range sc.fields {
			row = append(row, strings.ReplaceAll(string(f), "\r\n", "\n"))
		}
		rows = append(rows, row)
		if sc.nfields < 0 {
			sc.nfields = len(row) // the header
		}
	}
}

// csvRows reads s with encoding/csv, strict: LazyQuotes off and every
// record the header's field count. A record it rejects is nil.
func csvRows(s string) [][]string {
	cr := csv.NewReader(strings.NewReader(s))
	var rows [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			rows = append(rows, nil)
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount) && pe.Line > pe.StartLine {
				return rows // it gives up on the lines it swallowed
			}
			continue
		}
		if len(rows) == 0 {
			cr.FieldsPerRecord = len(rec)
		}
		rows = append(rows, rec)
	}
}

// TestCSVSpectrum reads the csv-spectrum test files (testdata/csv-spectrum,
// with their licence) and RFC 4180's examples: the scanner gives every
// record the files' own expected output and encoding/csv give.
func TestCSVSpectrum(t *testing.T) {
	files, err := filepath.Glob("testdata/csv-spectrum/*.csv")
	if err != nil || len(files) < 12 {
		t.Fatalf("csv-spectrum files: %v %v", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := scanRows(t, string(b))
			strict := csvRows(string(b))
			if diff := cmp.Diff(strict, got); diff != "" {
				t.Errorf("(-encoding/csv +scanner):\n%s", diff)
			}
			if slices.ContainsFunc(strict, func(r []string) bool { return r == nil }) {
				// location_coordinates.csv has a bare quote; its expected
				// output is a lenient reader's. Strict readers reject it.
				return
			}
			wb, err := os.ReadFile(strings.TrimSuffix(path, ".csv") + ".want.json")
			if err != nil {
				t.Fatal(err)
			}
			var want []map[string]string
			if err := json.Unmarshal(wb, &want); err != nil {
				t.Fatal(err)
			}
			var objs []map[string]string
			for _, row := range got[1:] {
				o := map[string]string{}
				for i, h := range got[0] {
					o[h] = strings.ReplaceAll(row[i], "\r\n", "\n")
				}
				objs = append(objs, o)
			}
			for _, o := range want {
				for k, v := range o {
					o[k] = strings.ReplaceAll(v, "\r\n", "\n")
				}
			}
			if diff := cmp.Diff(want, objs); diff != "" {
				t.Errorf("(-csv-spectrum's expected +scanner):\n%s", diff)
			}
		})
	}
	// RFC 4180, section 2, examples 1 to 7, each with a header.
	for i, s := range []string{
		"h1,h2,h3\r\naaa,bbb,ccc\r\nzzz,yyy,xxx\r\n",
		"h1,h2,h3\r\naaa,bbb,ccc\r\nzzz,yyy,xxx",
		"field_name,field_name,field_name\r\naaa,bbb,ccc\r\nzzz,yyy,xxx\r\n",
		"h1,h2,h3\r\naaa,bbb,ccc\r\n",
		"h1,h2,h3\r\n\"aaa\",\"bbb\",\"ccc\"\r\nzzz,yyy,xxx\r\n",
		"h1,h2,h3\r\n\"aaa\",\"b\r\nbb\",\"ccc\"\r\nzzz,yyy,xxx\r\n",
		"h1,h2,h3\r\n\"aaa\",\"b\"\"bb\",\"ccc\"\r\n",
	} {
		want, got := csvRows(s), scanRows(t, s)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("RFC 4180 example %d (-encoding/csv +scanner):\n%s", i+1, diff)
		}
	}
}

// lineResult is what a reader made of the row starting on a line.
type lineResult struct {
	rec *ur.Record // nil: rejected
	err error
}

// FuzzDifferential compares the Reader, record by record, with
// encoding/csv (LazyQuotes off, FieldsPerRecord the header's count) and the
// same Validator: every record encoding/csv accepts is stored by the Reader
// with the same kept values, and every row it rejects is rejected by the
// Reader too. encoding/csv gives up on the lines a broken multi-line quoted
// field swallowed; the Reader reads them as rows of their own, which may
// run into the next record encoding/csv read: such a record is checked
// only if the Reader started a row on its line.
func FuzzDifferential(f *testing.F) {
	files, _ := filepath.Glob("testdata/csv-spectrum/*.csv")
	for _, path := range files {
		b, _ := os.ReadFile(path)
		// The file's text in a dropped column, quoted as CSV quotes it.
		f.Add(goodRow + "\n" + replaceField(8, `"`+strings.ReplaceAll(string(b), `"`, `""`)+`"`) + "\n" + goodRow + "\n")
		f.Add(goodRow + "\n" + string(b) + "\n" + goodRow + "\n")
	}
	f.Add(replaceField(4, `2026-10-03T14:22:05+02:0"0`) + "\n" + goodRow + "\n" + replaceField(1, `9"17515034`))
	f.Add(goodRow + "\n" + replaceField(2, `"never closed`) + "\n" + goodRow + "\n")
	f.Add(goodRow + "\n" + "974760673,+4791234567,\"CANARY\nsecond\"\n" + goodRow + "\r\n")
	f.Add(goodRow + "\n" + replaceField(2, `"a"x`) + "\n" + goodRow)
	f.Fuzz(func(t *testing.T, body string) {
		data := header + body
		p, _ := NewPseudonymizer(testKey)
		o, _ := NewOslo()
		r, err := NewReader(strings.NewReader(data), "export.csv", p, o)
		if err != nil {
			t.Fatalf("header refused: %v", err)
		}
		ours := map[int]lineResult{}
		spans := [][2]int{{1, 1}} // the header
		for {
			var rec ur.Record
			err := r.Read(&rec)
			if err == io.EOF {
				break
			}
			var rej *Rejection
			switch {
			case errors.As(err, &rej):
				ours[r.Line()] = lineResult{err: rej.Err}
			case err != nil:
				return // a line longer than 1 MiB: the file is refused
			default:
				ours[r.Line()] = lineResult{rec: &rec}
			}
			spans = append(spans, [2]int{r.Line(), r.sc.line})
		}
		checkLines(t, data, spans)
		if int(r.RowsRead()) != len(spans)-1 {
			t.Errorf("%d rows read, %d returned", r.RowsRead(), len(spans))
		}
		inOurRow := func(line int) bool { // inside a row we started earlier
			for _, sp := range spans {
				if sp[0] < line && line <= sp[1] {
					return true
				}
			}
			return false
		}

		cr := csv.NewReader(strings.NewReader(data))
		cr.FieldsPerRecord = strings.Count(header, ",") + 1
		cr.ReuseRecord = true
		if _, err := cr.Read(); err != nil {
			t.Fatalf("encoding/csv: header: %v", err)
		}
		v := NewValidator(p, o)
		var col [numCols]int // header position of each kept column
		for c := range col {
			col[c] = -1
			for i, h := range strings.Split(strings.TrimSuffix(header, "\n"), ",") {
				if h == colNames[c] {
					col[c] = i
				}
			}
		}
		for {
			fields, err := cr.Read()
			if err == io.EOF {
				break
			}
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.StartLine
			} else {
				line, _ = cr.FieldPos(0)
			}
			got, ok := ours[line]
			if !ok {
				if !inOurRow(line) {
					t.Errorf("line %d: encoding/csv read a row there, the Reader did not", line)
				}
				continue
			}
			if err != nil {
				if got.rec != nil {
					t.Errorf("line %d: encoding/csv rejects it (%v), the Reader stored it", line, err)
				}
				if !errors.Is(err, csv.ErrFieldCount) && pe != nil && pe.Line > pe.StartLine {
					return // encoding/csv swallowed the rest
				}
				continue
			}
			var f Fields
			for c, i := range col {
				if i >= 0 {
					f[c] = []byte(fields[i])
				}
			}
			var want ur.Record
			if _, verr := v.Record(&f, &want); verr != nil {
				if got.rec != nil {
					t.Errorf("line %d: the Validator rejects encoding/csv's fields (%v), the Reader stored the row", line, verr)
				}
				continue
			}
			if got.rec == nil {
				t.Errorf("line %d: encoding/csv reads a good record, the Reader rejected it (%v)", line, got.err)
				continue
			}
			if diff := cmp.Diff(want, *got.rec); diff != "" {
				t.Errorf("line %d: records differ (-encoding/csv +Reader):\n%s", line, diff)
			}
		}
	})
}
