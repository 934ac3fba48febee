package ingest

import (
	"bytes"
	"testing"

	ur "usagereport"
)

func TestTrimSpaceIsBytesTrimSpace(t *testing.T) {
	for _, s := range []string{
		"", " ", "a", " a", "a ", "\ta\r", "\u00a0a", "a\u00a0", "\u2003a\u2003", "\x85a",
		"a\x85", "\x7f", "\x7fa\x7f", "\xffa", "a\xff", "+4791234567", " \v\f ",
	} {
		if got, want := trimSpace([]byte(s)), bytes.TrimSpace([]byte(s)); !bytes.Equal(got, want) {
			t.Errorf("trimSpace(%q) = %q, want %q", s, got, want)
		}
	}
}

// BenchmarkCheck is the validation of a chunk's rows of the benchmark file
// (cut beforehand) into records, pseudonyms aside: thread CPU time.
func BenchmarkCheck(b *testing.B) {
	data := benchData()
	r, err := NewReader(bytes.NewReader(data), "bench.csv", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	var rows []Fields
	var rec ur.Record
	for _, l := range bytes.Split(data, []byte("\n"))[1:] {
		if len(rows) == chunkSize/200 {
			break
		}
		r.sc.row = l
		if bytes.IndexByte(l, '"') >= 0 || r.sc.cutFields(&r.fields, &r.col, r.nfields) != nil {
			continue
		}
		rows = append(rows, r.fields)
	}
	p, _ := NewPseudonymizer(testKey)
	o, _ := NewOslo()
	v := NewValidator(p, o)
	cpuMetric(b, func() {
		for i := range rows {
			if _, _, _, err := v.check(&rows[i], &rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}
