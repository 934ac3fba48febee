package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

var testKey = bytes.Repeat([]byte{7}, 32)

const header = "org_number,subscriber,user_name,cost_centre,start_time,service,b_number,b_name,destination,duration_s,volume_bytes,country,charge,imei\n"

// goodRow is a valid row whose dropped columns hold canaries.
const goodRow = `974760673,+4791234567,CANARY Kari Nordmann,Sales,2026-10-03T14:22:05+02:00,voice,+4722334455,"CANARY Hansen, Ola",CANARY Oslo fixed,125,,,1.2500,356938035643809`

func newTestReader(t *testing.T, data string) (*Reader, error) {
	t.Helper()
	p, err := NewPseudonymizer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewOslo()
	if err != nil {
		t.Fatal(err)
	}
	return NewReader(strings.NewReader(data), "export.csv", p, o)
}

// readAll reads every row, returning the records and the rejections.
func readAll(t *testing.T, data string) ([]ur.Record, []Rejection) {
	t.Helper()
	r, err := newTestReader(t, data)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var recs []ur.Record
	var rejs []Rejection
	for {
		var rec ur.Record
		err := r.Read(&rec)
		var rej *Rejection
		switch {
		case err == io.EOF:
			return recs, rejs
		case errors.As(err, &rej):
			rejs = append(rejs, *rej)
		case err != nil:
			t.Fatalf("Read: %v", err)
		default:
			recs = append(recs, rec)
		}
	}
}

// replaceField returns goodRow with field i (0-based, by header) set to v.
func replaceField(i int, v string) string {
	fields := []string{"974760673", "+4791234567", "CANARY Kari Nordmann", "Sales", "2026-10-03T14:22:05+02:00", "voice", "+4722334455", `"CANARY Hansen, Ola"`, "CANARY Oslo fixed", "125", "", "", "1.2500", "356938035643809"}
	fields[i] = v
	return strings.Join(fields, ",")
}

func TestRejections(t *testing.T) {
	tests := []struct {
		name   string
		row    string
		column string
		err    error
	}{
		{"missing org", replaceField(0, ""), "org_number", ErrMissing},
		{"bad check digit", replaceField(0, "974760674"), "org_number", ErrOrgNumber},
		{"short org", replaceField(0, "97476067"), "org_number", ErrOrgNumber},
		{"missing subscriber", replaceField(1, " "), "subscriber", ErrMissing},
		{"subscriber without plus", replaceField(1, "4791234567"), "subscriber", ErrSubscriber},
		{"subscriber with letters", replaceField(1, "+47912CANARY"), "subscriber", ErrSubscriber},
		{"cost centre too long", replaceField(3, strings.Repeat("x", 65)), "cost_centre", ErrCostCentre},
		{"cost centre not utf-8", replaceField(3, "Sal\xffes"), "cost_centre", ErrEncoding},
		{"cost centre with a newline", replaceField(3, "\"Sales\nOslo\""), "cost_centre", ErrControl},
		{"cost centre with a tab", replaceField(3, "Sales\tOslo"), "cost_centre", ErrControl},
		{"missing time", replaceField(4, ""), "start_time", ErrMissing},
		{"time without offset", replaceField(4, "2026-10-03T14:22:05"), "start_time", ErrTime},
		{"time 31 november", replaceField(4, "2026-11-31T10:00:00Z"), "start_time", ErrTime},
		{"time 24 h", replaceField(4, "2026-10-03T24:00:00Z"), "start_time", ErrTime},
		{"time as date", replaceField(4, "03.10.2026 14:22"), "start_time", ErrTime},
		{"missing service", replaceField(5, ""), "service", ErrMissing},
		{"unknown service", replaceField(5, "fax"), "service", ErrService},
		{"negative duration", replaceField(9, "-5"), "duration_s", ErrInteger},
		{"fractional duration", replaceField(9, "1.5"), "duration_s", ErrInteger},
		{"volume not a number", replaceField(10, "12MB"), "volume_bytes", ErrInteger},
		{"volume too large", replaceField(10, "99999999999999999999"), "volume_bytes", ErrInteger},
		{"country name", replaceField(11, "Norway"), "country", ErrCountry},
		{"country digits", replaceField(11, "47"), "country", ErrCountry},
		{"missing charge", replaceField(12, ""), "charge", ErrMissing},
		{"charge decimal comma", replaceField(12, `"1,25"`), "charge", ErrAmount},
		{"charge five decimals", replaceField(12, "1.23456"), "charge", ErrAmount},
		{"charge exponent", replaceField(12, "1e3"), "charge", ErrAmount},
		{"charge too large", replaceField(12, "123456789012345.00"), "charge", ErrAmountRange},
		{"too few fields", "974760673,+4791234567,CANARY", "", ErrFieldCount},
		{"too many fields", goodRow + ",CANARY extra", "", ErrFieldCount},
		{"bare quote", replaceField(2, `Kari "CANARY" Nordmann`), "user_name", ErrQuote},
		{"text after quote", replaceField(2, `"Kari"CANARY`), "user_name", ErrQuote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := header + goodRow + "\n" + tt.row + "\n" + goodRow + "\n"
			recs, rejs := readAll(t, data)
			if len(recs) != 2 {
				t.Errorf("got %d good records, want the 2 around the bad row", len(recs))
			}
			want := []Rejection{{File: "export.csv", Line: 3, Column: tt.column, Err: tt.err}}
			if diff := cmp.Diff(want, rejs, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
			for _, r := range rejs {
				assertNoContent(t, r.Error())
			}
		})
	}
}

// assertNoContent fails when msg holds anything of a row's content.
func assertNoContent(t *testing.T, msg string) {
	t.Helper()
	for _, bad := range []string{"CANARY", "4791234567", "4722334455", "Kari", "Hansen", "356938035643809", "Sal\xffes", "xxxx"} {
		if strings.Contains(msg, bad) {
			t.Errorf("message %q holds row content %q", msg, bad)
		}
	}
}

func TestRecord(t *testing.T) {
	data := header + goodRow + "\n" +
		replaceField(11, "se") + "\n" +
		replaceField(11, "TH") + "\n" +
		replaceField(3, `"  (unassigned) "`) + "\n"
	recs, rejs := readAll(t, data)
	if len(rejs) != 0 {
		t.Fatalf("rejections: %v", rejs)
	}
	p, _ := NewPseudonymizer(testKey)
	want := ur.Record{
		Org: 974760673, Month: ur.MonthOf(2026, 10), Subscriber: p.Pseudonym([]byte("+4791234567")),
		CostCentre: "Sales", Service: ur.Voice, Zone: ur.Domestic, DurationS: 125, Charge: 12500,
	}
	if diff := cmp.Diff(want, recs[0]); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if recs[1].Zone != ur.EUEEA || recs[2].Zone != ur.World {
		t.Errorf("zones: got %v, %v; want eu_eea, world", recs[1].Zone, recs[2].Zone)
	}
	if recs[3].CostCentre != "" {
		t.Errorf(`"(unassigned)" written out: got cost centre %q, want ""`, recs[3].CostCentre)
	}
	if recs[0].Subscriber == (ur.Pseudonym{}) || bytes.Contains(recs[0].Subscriber[:], []byte("4791234567")) {
		t.Errorf("subscriber not pseudonymised: %x", recs[0].Subscriber)
	}
}

func TestFileFormats(t *testing.T) {
	crlf := strings.ReplaceAll(header+goodRow+"\n"+goodRow+"\n", "\n", "\r\n")
	upper := "\xef\xbb\xbf ORG_NUMBER , Subscriber,START_TIME,Service,Charge,Cost_Centre\n974760673,+4791234567,2026-10-03T14:22:05+02:00,SMS,0.5,IT\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(header + goodRow + "\n" + goodRow)) // no final newline
	zw.Close()
	multiline := header + strings.Replace(goodRow, `"CANARY Hansen, Ola"`, "\"CANARY\r\nHansen,\n\"\"Ola\"\"\"", 1) + "\n" + replaceField(0, "1") + "\n"
	tests := []struct {
		name     string
		data     string
		records  int
		rejLines []int
	}{
		{"crlf", crlf, 2, nil},
		{"bom, case, spaces, order, no optional columns", upper, 1, nil},
		{"gzip without final newline", gz.String(), 2, nil},
		{"blank lines", header + "\n" + goodRow + "\n\n\r\n" + goodRow + "\n", 2, nil},
		{"quoted newlines keep line numbers", multiline, 1, []int{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, rejs := readAll(t, tt.data)
			if len(recs) != tt.records {
				t.Errorf("got %d records, want %d", len(recs), tt.records)
			}
			var lines []int
			for _, r := range rejs {
				lines = append(lines, r.Line)
			}
			if diff := cmp.Diff(tt.rejLines, lines); diff != "" {
				t.Errorf("rejected lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefusedFiles(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "empty"},
		{"no header, data first", goodRow + "\n" + goodRow + "\n", "lacks required column(s) org_number, subscriber, start_time, service, charge"},
		{"missing charge column", "org_number,subscriber,start_time,service\n", "lacks required column(s) charge"},
		{"binary", "\x00\x01\x02PK\x03\x04", "not UTF-8"},
		{"duplicate column", "org_number,subscriber,start_time,service,charge,Charge\n", "charge appears twice"},
		{"not gzip after magic", "\x1f\x8bCANARY", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newTestReader(t, tt.data)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FileError", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "export.csv") {
				t.Errorf("got %q, want it to name the file and say %q", err, tt.want)
			}
			assertNoContent(t, err.Error())
		})
	}
}

func TestUnterminatedQuoteLosesOnlyTheRestOfItsRow(t *testing.T) {
	data := header + goodRow + "\n" + replaceField(2, `"CANARY unterminated`) + "\n"
	recs, rejs := readAll(t, data)
	if len(recs) != 1 || len(rejs) != 1 || rejs[0].Err != ErrQuote || rejs[0].Line != 3 {
		t.Errorf("got %d records, rejections %v; want 1 record and a quote rejection on line 3", len(recs), rejs)
	}
}
