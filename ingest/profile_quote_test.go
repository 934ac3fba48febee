package ingest_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"usagereport/ingest"
)

// TestProfileCSVQuoting reads the Latin-1, semicolon-separated sample with
// broken quoting added (a quote inside an unquoted name, text after a
// closing quote, a quoted field that never closes), plain and as gzip cut
// into members inside a broken row: each broken row costs its own line,
// and the sample's records all come through.
func TestProfileCSVQuoting(t *testing.T) {
	f, err := os.Open("../fixtures/profiles/no-invoice.toml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ingest.ParseProfile(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("../fixtures/sample-profiles/no-invoice-2026-10.csv")
	if err != nil {
		t.Fatal(err)
	}
	clean, cleanRes, _ := ingestWith(t, p, sample, "inv.csv")
	lines := strings.SplitAfter(string(sample), "\n")
	row := strings.Split(strings.TrimRight(lines[1], "\r\n"), ";")
	with := func(i int, v string) string {
		r := append([]string(nil), row...)
		r[i] = v
		return strings.Join(r, ";") + "\n"
	}
	broken := []string{
		with(2, "Teknisk \"S\xf8r\" CANARY"), // user name, Latin-1 ø
		with(8, "\"CANARY Hansen\"x"),        // text after the closing quote
		with(9, "\"CANARY never closes"),     // a description that runs on
	}
	var b strings.Builder
	b.WriteString(lines[0] + broken[0] + lines[1] + lines[2] + broken[1] + strings.Join(lines[3:6], "") + broken[2])
	b.WriteString(strings.Join(lines[6:], ""))
	data := b.String()
	want := "inv.csv " + itoa(cleanRes.Rows) + " " + itoa(cleanRes.Rejected+3) + "\n" +
		"inv.csv:2: column field 3: bad quoting\n" +
		"inv.csv:5: column field 9: bad quoting\n" +
		"inv.csv:9: column field 10: bad quoting\n"
	cut := strings.Index(data, "S\xf8r\"") + 2
	var gz bytes.Buffer
	for _, part := range []string{data[:cut], data[cut:]} {
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(part))
		zw.Close()
	}
	for name, in := range map[string][]byte{"plain": []byte(data), "gzip members": gz.Bytes()} {
		recs, res, dir := ingestWith(t, p, in, "inv.csv")
		if got := resultText(res); !strings.HasPrefix(got, want) {
			t.Errorf("%s: got\n%s\nwant it to start\n%s", name, got, want)
		}
		if res.Read != res.Rows+res.Rejected {
			t.Errorf("%s: %d read, %d stored, %d rejected", name, res.Read, res.Rows, res.Rejected)
		}
		if diff := cmp.Diff(clean, recs); diff != "" {
			t.Errorf("%s: records (-clean sample +with broken rows):\n%s", name, diff)
		}
		assertNoCanary(t, dir, map[string]string{"result": resultText(res)}, []string{"CANARY", "S\xf8r", "Sør"})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
