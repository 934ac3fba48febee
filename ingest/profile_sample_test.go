package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
	"usagereport/embedded"
	"usagereport/ingest"
)

var sampleKey = bytes.Repeat([]byte{9}, 32)

// profileEnv opens a fresh embedded store and what ingest needs.
func profileEnv(t *testing.T) (*embedded.Store, string, *ingest.Pseudonymizer, *ingest.Oslo) {
	t.Helper()
	dir := t.TempDir()
	st, err := embedded.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := ingest.NewPseudonymizer(sampleKey)
	if err != nil {
		t.Fatal(err)
	}
	o, err := ingest.NewOslo()
	if err != nil {
		t.Fatal(err)
	}
	return st, dir, p, o
}

func loadProfile(t *testing.T, path string) *ingest.Profile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := ingest.ParseProfile(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ingestWith reads data through profile p (CSV v1's own File when p is
// nil) into a fresh store, and returns the store's records, the result
// and the store's folder.
func ingestWith(t *testing.T, p *ingest.Profile, data []byte, name string) ([]ur.Record, *ingest.Result, string) {
	t.Helper()
	ctx := context.Background()
	st, dir, pseudo, oslo := profileEnv(t)
	var res *ingest.Result
	var err error
	if p == nil {
		res, err = ingest.File(ctx, st, bytes.NewReader(data), name, pseudo, oslo)
	} else {
		var r ingest.RowReader
		if r, err = p.Open(bytes.NewReader(data), name, pseudo, oslo); err == nil {
			res, err = ingest.FileWith(ctx, st, r, name)
		}
	}
	if err != nil {
		t.Fatalf("ingest %s: %v", name, err)
	}
	return storedRecords(t, st), res, dir
}

// storedRecords returns every record of every month, in a stable order.
func storedRecords(t *testing.T, st *embedded.Store) []ur.Record {
	t.Helper()
	ctx := context.Background()
	months, err := st.Months(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var recs []ur.Record
	for _, m := range months {
		if err := st.ScanMonth(ctx, m, func(r *ur.Record) error { recs = append(recs, *r); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(recs, func(a, b ur.Record) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return recs
}

// assertNoCanary fails if any file under dir, or any of texts, holds a
// canary.
func assertNoCanary(t *testing.T, dir string, texts map[string]string, canaries []string) {
	t.Helper()
	all := make(map[string][]byte)
	for k, v := range texts {
		all[k] = []byte(v)
	}
	if dir != "" {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			all[path] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) == len(texts) {
			t.Fatalf("no files under %s: the check would prove nothing", dir)
		}
	}
	for where, b := range all {
		for _, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s holds %q", where, c)
			}
		}
	}
}

func resultText(res *ingest.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d %d\n", res.Name, res.Rows, res.Rejected)
	for _, r := range res.Rejections {
		b.WriteString(r.Error() + "\n")
	}
	return b.String()
}

// noInvoiceV1 is fixtures/sample-profiles/no-invoice-2026-10.csv written
// by hand as CSV v1.
const noInvoiceV1 = `org_number,subscriber,cost_centre,start_time,service,duration_s,volume_bytes,country,charge
974760673,+4791234567,Salg,2026-10-03T14:22:05+02:00,voice,125,,,1.2500
974760673,+4791234567,Salg,2026-10-03T15:01:00+02:00,data,,52428800,SE,0
974760673,+4791234567,Salg,2026-10-04T08:00:10+02:00,sms,,,,0.99
923609016,+4748000001,"Innkjøp; Ålesund",2026-10-05T09:30:00+02:00,mms,,,,3.00
923609016,+4748000001,"Innkjøp; Ålesund",2026-10-06T10:00:00+02:00,voice,3600,,SE,1234.50
923609016,+4748000002,Miljø - Drammen,2026-10-07T11:11:11+02:00,voice,0,,,-12.50
923609016,+4748000002,Miljø - Drammen,2026-10-25T02:30:00+02:00,voice,600,,,2.5
923609016,+4748000002,Miljø - Drammen,2026-10-25T03:15:00+01:00,data,,1000,de,0.0001
991825827,+4793000003,,2026-10-01T00:15:00+02:00,data,,2147483648,US,149.00
991825827,+4793000003,,2026-10-31T23:45:00+01:00,sms,,,US,1.5
991825827,+4793000003,,2026-11-01T00:10:00+01:00,voice,754,,US,10000.00
991825827,+46701234567,IT,2026-09-30T23:59:00+02:00,data,,5,SE,0.10
991825827,+46701234567,IT,2026-10-15T12:00:00+02:00,sms,,,SE,0.50
`

// noInvoiceCanaries are the sample's dropped values and subscriber numbers.
var noInvoiceCanaries = []string{
	"22334455", "98765432", "Hansen", "Tante", "Bråten", "41122334", "70112233", "Svensson",
	"22990996", "Linnea", "92705382", "Solveig", "2025550143", "John Smith", "46701112233", "Anna Berg",
	"Nordmann", "Lise Dahl", "Nils Berg", "Eva Lund", "Oslo fast", "Sverige mobil", "SMS utland",
	"356938035643809", "490154203237518", "357596278788639", "865026242185030",
	"91234567", "48000001", "48000002", "93000003", "46701234567",
}

func TestProfileNoInvoiceSampleMatchesCSVv1(t *testing.T) {
	p := loadProfile(t, "../fixtures/profiles/no-invoice.toml")
	data, err := os.ReadFile("../fixtures/sample-profiles/no-invoice-2026-10.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, res, dir := ingestWith(t, p, data, "no-invoice-2026-10.csv")
	want, wantRes, _ := ingestWith(t, nil, []byte(noInvoiceV1), "v1.csv")
	if res.Rows != 13 || res.Rejected != 0 || wantRes.Rows != 13 {
		t.Fatalf("stored %d rows, rejected %d: %s; CSV v1 stored %d: %s", res.Rows, res.Rejected, resultText(res), wantRes.Rows, resultText(wantRes))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records through the profile differ from CSV v1's (-v1 +profile):\n%s", diff)
	}
	assertNoCanary(t, dir, map[string]string{"result": resultText(res)}, noInvoiceCanaries)
}

// The CSV v1 profile, read by the generic CSV reader, gives what the fast
// CSV v1 reader gives on every shipped sample: the same records and the
// same rejections.
func TestProfileCSVv1MatchesReader(t *testing.T) {
	p := loadProfile(t, "../fixtures/profiles/csv-v1.toml")
	files, err := filepath.Glob("../fixtures/sample/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(path)
			got, res, _ := ingestWith(t, p, data, name)
			want, wantRes, _ := ingestWith(t, nil, data, name)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("records differ (-Reader +profile):\n%s", diff)
			}
			if diff := cmp.Diff(resultText(wantRes), resultText(res)); diff != "" {
				t.Errorf("results differ (-Reader +profile):\n%s", diff)
			}
			if res.SHA256 != wantRes.SHA256 {
				t.Errorf("SHA256 differs from the Reader's")
			}
		})
	}
}
