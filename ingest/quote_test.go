package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
	"usagereport/embedded"
)

// rowWith returns goodRow with field i replaced by v and the canary made
// unique to the row.
func rowWith(i int, v string) string { return replaceField(i, v) }

// TestQuotingCostsOnlyItsLine holds the quoting rules of usage-csv-v1
// ("Bad rows"): every case keeps each good row around the broken one, and
// rejects the broken one by its first line, whatever reader cuts the rows.
func TestQuotingCostsOnlyItsLine(t *testing.T) {
	type rej struct {
		Line   int
		Column string
	}
	tests := []struct {
		name string
		body string // after the header
		good int    // records stored
		rejs []rej  // bad quoting, in order
	}{
		{"bare quote on the first data row",
			rowWith(4, `2026-10-03T14:22:05+02:0"0`) + "\n" + goodRow + "\n" + goodRow + "\n",
			2, []rej{{2, "start_time"}}},
		{"bare quote in a dropped column",
			goodRow + "\n" + rowWith(2, `Teknisk "Sør" CANARY`) + "\n" + goodRow + "\n",
			2, []rej{{3, "user_name"}}},
		{"bare quote in a number",
			goodRow + "\n" + rowWith(1, `+479"1234567`) + "\n" + goodRow + "\n",
			2, []rej{{3, "subscriber"}}},
		{"bare quote on the last row, no final newline",
			goodRow + "\n" + goodRow + "\n" + rowWith(8, `CANARY "x`),
			2, []rej{{4, "destination"}}},
		{"odd quotes on many rows lose only those rows",
			goodRow + "\n" + rowWith(2, `a"b`) + "\n" + goodRow + "\n" + rowWith(8, `c"d`) + "\n" + goodRow + "\n",
			3, []rej{{3, "user_name"}, {5, "destination"}}},
		{"text after a closing quote",
			goodRow + "\n" + rowWith(2, `"CANARY"x`) + "\n" + goodRow + "\n",
			2, []rej{{3, "user_name"}}},
		{"a quoted field that never closes",
			goodRow + "\n" + rowWith(2, `"CANARY never closed`) + "\n" + goodRow + "\n" + goodRow + "\n",
			3, []rej{{3, "user_name"}}},
		{"a quoted field that never closes, on the last line",
			goodRow + "\n" + rowWith(2, `"CANARY never closed`),
			1, []rej{{3, "user_name"}}},
		{"a quoted line end in a row of the wrong field count",
			goodRow + "\n" + "974760673,+4791234567,\"CANARY\nsecond line\"\n" + goodRow + "\n",
			2, []rej{{3, "user_name"}, {4, "org_number"}}},
		{"a quoted field closing on a later row's quote",
			goodRow + "\n" + "974760673,+4791234567,\"CANARY\n" + goodRow + "\n",
			2, []rej{{3, "user_name"}}},
		{"a quoted line end closing into junk",
			goodRow + "\n" + rowWith(8, "\"CANARY\nline\"x") + "\n" + goodRow + "\n",
			2, []rej{{3, "destination"}, {4, "org_number"}}},
		{"a correct quoted field with line ends",
			goodRow + "\n" + rowWith(8, "\"CANARY\nsecond, \"\"line\"\"\r\nthird\"") + "\r\n" + goodRow + "\n",
			3, nil},
		{"quoted kept fields",
			rowWith(0, `"974760673"`) + "\n" + rowWith(12, `"1.25"`) + "\n",
			2, nil},
		{"a quote opening a field after a separator",
			rowWith(7, `"CANARY, ""quoted"""`) + "\n",
			1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := header + tt.body
			for _, chunk := range []int{0, 1, 7, 64, 300, 1 << 20} {
				res := readBoth(t, data, chunk)
				if res.FileErr != "" {
					t.Fatalf("chunk %d: %s", chunk, res.FileErr)
				}
				var got []rej
				for _, r := range res.Rejs {
					if r.Err != ErrQuote {
						t.Errorf("chunk %d: line %d rejected for %v, want bad quoting", chunk, r.Line, r.Err)
					}
					assertNoContent(t, r.Error())
					got = append(got, rej{r.Line, r.Column})
				}
				if len(res.Recs) != tt.good {
					t.Errorf("chunk %d: %d records, want %d", chunk, len(res.Recs), tt.good)
				}
				if diff := cmp.Diff(tt.rejs, got); diff != "" {
					t.Errorf("chunk %d: rejections (-want +got):\n%s", chunk, diff)
				}
				if res.Read != int64(len(res.Recs)+len(res.Rejs)) {
					t.Errorf("chunk %d: %d rows read, %d stored + %d rejected", chunk, res.Read, len(res.Recs), len(res.Rejs))
				}
			}
		})
	}
}

// gzipMembers compresses data as one gzip member per part, back to back:
// a valid gzip file that gzip -d reads whole.
func gzipMembers(t *testing.T, parts ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, p := range parts {
		zw := gzip.NewWriter(&b)
		if _, err := zw.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestBareQuoteAcrossGzipMembers cuts a gzip file into members in the
// middle of a row with a bare quote, and in the middle of a correct quoted
// field with a line end: the records are those of the plain file.
func TestBareQuoteAcrossGzipMembers(t *testing.T) {
	plain := header + goodRow + "\n" + rowWith(2, `Kari "CANARY" Nordmann`) + "\n" +
		rowWith(8, "\"CANARY\nmore\"") + "\n" + goodRow + "\n"
	want := readBoth(t, plain, 0)
	if len(want.Recs) != 3 || len(want.Rejs) != 1 {
		t.Fatalf("plain file: %d records, %v", len(want.Recs), want.Rejs)
	}
	for _, at := range []string{`Kari "`, `Kari `, "\"CANARY\n", "\"CANARY\nmo"} {
		i := strings.Index(plain, at) + len(at)
		data := string(gzipMembers(t, plain[:i], plain[i:]))
		for _, chunk := range []int{0, 5, 1 << 20} {
			got := readBoth(t, data, chunk)
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("members cut after %q, chunk %d (-plain +gzip):\n%s", at, chunk, diff)
			}
		}
	}
}

// TestGzipRatioRefused feeds a small gzip of 64 MiB of blank lines: it is
// refused by name at once, and read with the cap lifted.
func TestGzipRatioRefused(t *testing.T) {
	blank := strings.Repeat("\n", 64<<20)
	data := gzipMembers(t, header+blank+goodRow+"\n")
	p, _ := NewPseudonymizer(testKey)
	o, _ := NewOslo()
	ctx := context.Background()
	st, err := embedded.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = File(ctx, st, bytes.NewReader(data), "bomb.csv.gz", p, o)
	var fe *FileError
	if !errors.As(err, &fe) || !errors.Is(err, ErrGzipRatio) || fe.File != "bomb.csv.gz" || !strings.Contains(err.Error(), "--max-gzip-ratio") {
		t.Fatalf("got %v, want the file refused for its gzip ratio, by name", err)
	}
	if files, _ := st.Files(ctx); len(files) != 0 {
		t.Errorf("a refused file left %d ledger entries", len(files))
	}
	res, err := File(ctx, st, GzipLimit(bytes.NewReader(data), 0), "bomb.csv.gz", p, o)
	if err != nil || res.Rows != 1 || res.Read != 1 {
		t.Fatalf("without a cap: %+v, %v; want the one row", res, err)
	}
	// The profile readers go through the same cap.
	f, err := os.Open("../fixtures/profiles/csv-v1.toml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prof, err := ParseProfile(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := prof.Open(bytes.NewReader(data), "bomb.csv.gz", p, o)
	if _, fast := r.(*Reader); fast {
		t.Fatalf("the profile opened the CSV v1 reader, not the profile's")
	}
	var rec ur.Record
	for err == nil {
		err = r.Read(&rec)
	}
	if !errors.Is(err, ErrGzipRatio) {
		t.Errorf("profile CSV: got %v, want the gzip cap", err)
	}
}

// TestContentDigest: the same records however encoded have one digest;
// one record more, less or changed gives another.
func TestContentDigest(t *testing.T) {
	rows := []string{goodRow, rowWith(9, "60"), rowWith(3, "IT"), rowWith(12, "-2.5"), rowWith(5, "sms")}
	body := strings.Join(rows, "\n") + "\n"
	digest := func(data string) [32]byte {
		t.Helper()
		res := readBoth(t, data, 1<<20)
		if res.FileErr != "" {
			t.Fatal(res.FileErr)
		}
		seq := readBoth(t, data, 0)
		if seq.Digest != res.Digest {
			t.Errorf("Read and ReadAll digests differ")
		}
		return res.Digest
	}
	want := digest(header + body)
	reordered := []string{rows[3], rows[0], rows[4], rows[2], rows[1]}
	otherColumns := strings.ReplaceAll(header, "imei", "cell_id") // a dropped column renamed
	for name, data := range map[string]string{
		"CRLF":          strings.ReplaceAll(header+body, "\n", "\r\n"),
		"BOM":           "\ufeff" + header + body,
		"reordered":     header + strings.Join(reordered, "\n"),
		"gzip":          string(gzipMembers(t, header+body)),
		"blank lines":   header + "\n\n" + body + "\n",
		"quoted values": header + strings.Replace(body, "974760673", `"974760673"`, 1),
		"bad rows too":  header + body + rowWith(2, `a"b`) + "\n",
		"other dropped": otherColumns + body,
	} {
		if got := digest(data); got != want {
			t.Errorf("%s: digest differs", name)
		}
	}
	for name, data := range map[string]string{
		"one row less":   header + strings.Join(rows[1:], "\n"),
		"one row more":   header + body + goodRow + "\n",
		"a charge":       header + strings.Replace(body, "1.2500", "1.2501", 1),
		"a cost centre":  header + strings.Replace(body, "Sales", "Sale", 1),
		"a row twice":    header + body + rows[1] + "\n",
		"another month":  header + strings.Replace(body, "2026-10-03", "2026-11-03", 1),
		"a subscriber":   header + strings.Replace(body, "+4791234567", "+4791234568", 1),
		"another org":    header + strings.ReplaceAll(body, "974760673", "923609016"),
		"volume for all": header + strings.Replace(body, ",125,,", ",125,1,", 1),
	} {
		if got := digest(data); got == want {
			t.Errorf("%s: same digest", name)
		}
	}
	if (Digest{}).Sum() != [32]byte{} {
		t.Errorf("no records: digest not zero")
	}
}

// TestSameRecordsRefused ingests a file and sends its records again,
// encoded otherwise: each is refused naming the first file, and the store
// holds the records once.
func TestSameRecordsRefused(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, _ := NewPseudonymizer(testKey)
	o, _ := NewOslo()
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "%s\n", rowWith(9, fmt.Sprint(i)))
	}
	body := b.String()
	first, err := File(ctx, st, strings.NewReader(header+body), "first.csv", p, o)
	if err != nil || first.Rows != 200 {
		t.Fatalf("first: %+v %v", first, err)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	for name, data := range map[string]string{
		"same.csv":      header + body,
		"crlf.csv":      strings.ReplaceAll(header+body, "\n", "\r\n"),
		"bom.csv":       "\ufeff" + header + body,
		"reordered.csv": header + strings.Join(lines, "\n"),
		"again.csv.gz":  string(gzipMembers(t, header+body)),
	} {
		res, err := File(ctx, st, strings.NewReader(data), name, p, o)
		if err != nil || !res.AlreadyIngested || res.Already == nil || res.Already.Name != "first.csv" {
			t.Errorf("%s: %+v, %v; want already ingested as first.csv", name, res, err)
			continue
		}
		if !strings.Contains(res.Already.Error(), "already ingested as first.csv on ") {
			t.Errorf("%s: says %q", name, res.Already.Error())
		}
		if res.Already.SameBytes != (name == "same.csv" || name == "again.csv.gz") {
			t.Errorf("%s: SameBytes %v", name, res.Already.SameBytes)
		}
	}
	files, _ := st.Files(ctx)
	if len(files) != 1 || files[0].Content != first.Content {
		t.Errorf("ledger: %+v", files)
	}
	// Empty files are never taken for one another.
	for _, name := range []string{"empty1.csv", "empty2.csv"} {
		res, err := File(ctx, st, strings.NewReader(header+rowWith(0, "")+"\n"+name+"\n"), name, p, o)
		if err != nil || res.AlreadyIngested {
			t.Errorf("%s: %+v %v, want it ingested (no records)", name, res, err)
		}
	}
}
