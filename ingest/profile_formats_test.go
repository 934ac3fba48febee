package ingest_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"usagereport/ingest"
)

func parseProfile(t *testing.T, s string) *ingest.Profile {
	t.Helper()
	p, err := ingest.ParseProfile(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// formatsV1 holds the good events of the JSON Lines and Parquet inputs
// below, as CSV v1.
const formatsV1 = `org_number,subscriber,cost_centre,start_time,service,duration_s,volume_bytes,country,charge
974760673,+4791234567,Salg,2026-10-03T14:22:05+02:00,voice,125,,,1.25
974760673,+4791234567,Salg,2026-10-03T15:01:00+02:00,data,,52428800,SE,0
923609016,+4748000001,Innkjøp,2026-10-31T23:30:00+01:00,sms,,,US,-12.5
991825827,+4793000003,,2026-11-01T00:10:00+01:00,mms,,,,1234.5
`

var formatCanaries = []string{"CANARY", "22334455", "4799887766", "356938035643809", "91234567", "48000001", "93000003"}

const jsonlProfile = `
format = "jsonl"
[columns]
org_number = "Org"
subscriber = "MSISDN"
cost_centre = "dept"
start_time = "ts"
service = "type"
duration_s = "secs"
volume_bytes = "bytes"
country = "cc"
charge = "amount"
[services]
Tale = "voice"
`

const jsonlInput = `{"Org":"974760673","MSISDN":"+4791234567","user":{"name":"CANARY-USER-1","imei":"356938035643809"},"dept":"Salg","ts":"2026-10-03T14:22:05+02:00","type":"Tale","b_number":"+4722334455","b_name":"CANARY-BNAME-1","secs":125,"bytes":null,"cc":"","amount":1.25}
{"org":974760673,"msisdn":"+4791234567","ts":"2026-10-03T15:01:00+02:00","type":"data","bytes":52428800,"cc":"SE","amount":"0","calls":[{"to":"+4799887766"}],"dept":"Salg"}

{"Org":"923609016","MSISDN":"+4748000001","dept":"Innkjøp","ts":"2026-10-31T23:30:00+01:00","type":"SMS","cc":"US","amount":-12.5,"b_number":"+4722334455"}
{"Org":"991825827","MSISDN":"+4793000003","dept":null,"ts":"2026-11-01T00:10:00+01:00","type":"mms","amount":1234.5,"b_name":"CANARY-BNAME-2"}
{"Org":"991825827","MSISDN":"+47CANARY1","ts":"2026-11-01T00:10:00+01:00","type":"mms","amount":1,"b_name":"CANARY-BNAME-3"}
{"Org":"991825827","MSISDN":{"n":"+4793000003"},"ts":"2026-11-01T00:10:00+01:00","type":"mms","amount":1}
{"Org":"991825827","MSISDN":"+4793000003","msisdn":"+4799887766","ts":"2026-11-01T00:10:00+01:00","type":"mms","amount":1}
{"Org":"991825827","MSISDN":"+4793000003","b_name":"CANARY-BNAME-4", broken
["CANARY-ARRAY", "+4799887766"]
{"Org":"991825827","MSISDN":"+4793000003","ts":"2026-11-01T00:10:00+01:00","type":"mms","amount":1e3,"b_name":"CANARY-BNAME-5"}
{"Org":"991825827","MSISDN":"+4793000003","ts":"2026-11-01T00:10:00+01:00","type":"mms","amount":1} {"b_name":"CANARY-BNAME-6"}
`

func TestJSONLMatchesCSVv1(t *testing.T) {
	p := parseProfile(t, jsonlProfile)
	got, res, dir := ingestWith(t, p, []byte(jsonlInput), "usage.jsonl")
	want, _, _ := ingestWith(t, nil, []byte(formatsV1), "v1.csv")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records differ (-v1 +jsonl):\n%s", diff)
	}
	wantRej := []struct {
		line int
		col  string
		err  error
	}{
		{6, "subscriber", ingest.ErrSubscriber},
		{7, "subscriber", ingest.ErrJSONValue},
		{8, "subscriber", ingest.ErrDuplicateKey},
		{9, "", ingest.ErrNotJSON},
		{10, "", ingest.ErrNotJSON},
		{11, "charge", ingest.ErrAmount},
		{12, "", ingest.ErrNotJSON},
	}
	if len(res.Rejections) != len(wantRej) {
		t.Fatalf("rejections:\n%s", resultText(res))
	}
	for i, w := range wantRej {
		r := res.Rejections[i]
		if r.Line != w.line || r.Column != w.col || !errors.Is(r.Err, w.err) {
			t.Errorf("rejection %d: got %v, want line %d column %q %v", i, &r, w.line, w.col, w.err)
		}
	}
	assertNoCanary(t, dir, map[string]string{"result": resultText(res)}, formatCanaries)
}

// pqParty is call-party data nested in a Parquet row: never read.
type pqParty struct {
	Number string `parquet:"number"`
	Name   string `parquet:"name"`
}

type pqRow struct {
	Org      string    `parquet:"org"`
	Msisdn   string    `parquet:"msisdn"`
	Dept     string    `parquet:"dept,optional"`
	Start    time.Time `parquet:"start,timestamp(millisecond)"`
	Kind     string    `parquet:"kind"`
	Seconds  int32     `parquet:"seconds,optional"`
	Bytes    int64     `parquet:"bytes,optional"`
	Country  string    `parquet:"country,optional"`
	Charge   float64   `parquet:"charge"`
	BNumber  string    `parquet:"b_number"`
	Party    pqParty   `parquet:"party"`
	Callees  []string  `parquet:"callees,list"`
	UserName string    `parquet:"user_name"`
}

const parquetProfile = `
format = "parquet"
[columns]
org_number = "ORG"
subscriber = "msisdn"
cost_centre = "dept"
start_time = "start"
service = "kind"
duration_s = "seconds"
volume_bytes = "bytes"
country = "country"
charge = "charge"
[services]
Tale = "voice"
`

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParquetInMatchesCSVv1(t *testing.T) {
	party := pqParty{Number: "+4722334455", Name: "CANARY-BNAME"}
	rows := []pqRow{
		{Org: "974760673", Msisdn: "+4791234567", Dept: "Salg", Start: at("2026-10-03T14:22:05+02:00"), Kind: "Tale", Seconds: 125, Charge: 1.25},
		{Org: "974760673", Msisdn: "+4791234567", Dept: "Salg", Start: at("2026-10-03T15:01:00+02:00"), Kind: "data", Bytes: 52428800, Country: "SE"},
		{Org: "923609016", Msisdn: "+4748000001", Dept: "Innkjøp", Start: at("2026-10-31T23:30:00+01:00"), Kind: "SMS", Country: "US", Charge: -12.5},
		{Org: "991825827", Msisdn: "+4793000003", Start: at("2026-11-01T00:10:00+01:00"), Kind: "mms", Charge: 1234.5},
		{Org: "991825827", Msisdn: "+47CANARY1", Start: at("2026-11-01T00:10:00+01:00"), Kind: "mms", Charge: 1},
		{Org: "991825827", Msisdn: "+4793000003", Start: at("2026-11-01T00:10:00+01:00"), Kind: "CANARY-KIND", Charge: 1},
		{Org: "991825827", Msisdn: "+4793000003", Start: at("2026-11-01T00:10:00+01:00"), Kind: "mms", Charge: 0.00001},
	}
	for i := range rows {
		rows[i].BNumber, rows[i].Party, rows[i].UserName = "+4799887766", party, "CANARY-USER"
		rows[i].Callees = []string{"+4799887766", "CANARY-CALLEE"}
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pqRow](&buf, parquet.MaxRowsPerRowGroup(3))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := parseProfile(t, parquetProfile)
	got, res, dir := ingestWith(t, p, buf.Bytes(), "usage.parquet")
	want, _, _ := ingestWith(t, nil, []byte(formatsV1), "v1.csv")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records differ (-v1 +parquet):\n%s", diff)
	}
	wantRej := "usage.parquet 4 3\n" +
		"usage.parquet:5: column subscriber: not an E.164 number\n" +
		"usage.parquet:6: column service: not one of voice, sms, mms, data\n" +
		"usage.parquet:7: column charge: not a NOK amount with '.' and at most 4 decimals\n"
	if diff := cmp.Diff(wantRej, resultText(res)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	assertNoCanary(t, dir, map[string]string{"result": resultText(res)}, formatCanaries)

	// A mapped column that is a list is refused, by its name only.
	bad := strings.Replace(parquetProfile, `country = "country"`, `country = "callees.list.element"`, 1)
	st, _, pseudo, oslo := profileEnv(t)
	_ = st
	_, err := parseProfile(t, bad).Open(bytes.NewReader(buf.Bytes()), "usage.parquet", pseudo, oslo)
	if err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Errorf("list column mapped: got %v", err)
	}
}

const noProfileRejects = `
separator = ";"
decimal_separator = ","
time_layout = "02.01.2006 15:04"
time_zone = "Europe/Oslo"
repeated_hour = "reject"
duration_format = "h:mm:ss"
national_prefix = "+47"
[columns]
org_number = "Org.nr"
subscriber = "Abonnement"
start_time = ["Dato", "Tid"]
service = "Tjeneste"
duration_s = "Varighet"
charge = "Beløp"
[services]
Tale = "voice"
`

func TestProfileCSVRejections(t *testing.T) {
	p := parseProfile(t, noProfileRejects)
	input := "Org.nr;Abonnement;Dato;Tid;Tjeneste;Til nummer;Mottaker;Varighet;Beløp\n" +
		"974760673;91234567;29.03.2026;02:30;Tale;4722334455;CANARY-1;0:01:00;1,00\n" + // skipped hour
		"974760673;91234567;25.10.2026;02:30;Tale;4722334455;CANARY-2;0:01:00;1,00\n" + // repeated hour, rejected by the profile
		"974760673;91234567;25.10.2026;03:30;Tale;4722334455;CANARY-3;0:01:00;1.00\n" + // a point in a decimal-comma file
		"974760673;91234567;2026-10-25;03:30;Tale;4722334455;CANARY-4;0:01:00;1,00\n" + // date not in the layout
		"974760673;91234567;25.10.2026;03:30;Fax;4722334455;CANARY-5;0:01:00;1,00\n" + // unknown service
		"974760673;91234567;25.10.2026;03:30;Tale;4722334455;CANARY-6;1:2;1,00\n" + // bad duration
		// A quoted line end in a row of the wrong field count: broken
		// quoting, which costs line 8, and line 9 on its own is a quoted
		// field that never closes.
		"974760673;91234567;25.10.2026;03:30;Tale;4722334455;\"CANARY-7\n;\"\"\";0:01:00;1,00;extra\n" +
		"974760673;91234567;25.10.2026;03:30;Tale;4722334455;CANARY \"8\";0:01:00;1,00\n" + // bare quote
		"974760673;91234567;25.10.2026;03:30;Tale;4722334455;CANARY-9;0:01:00;1,00\n" // good
	_, res, dir := ingestWith(t, p, []byte(input), "inv.csv")
	want := "inv.csv 1 9\n" +
		"inv.csv:2: column start_time: " + ingest.ErrTimeSkipped.Error() + "\n" +
		"inv.csv:3: column start_time: " + ingest.ErrTimeRepeated.Error() + "\n" +
		"inv.csv:4: column charge: " + ingest.ErrNumberFormat.Error() + "\n" +
		"inv.csv:5: column start_time: " + ingest.ErrTimeLayout.Error() + "\n" +
		"inv.csv:6: column service: " + ingest.ErrService.Error() + "\n" +
		"inv.csv:7: column duration_s: " + ingest.ErrClock.Error() + "\n" +
		"inv.csv:8: column field 7: " + ingest.ErrQuote.Error() + "\n" +
		"inv.csv:9: column subscriber: " + ingest.ErrQuote.Error() + "\n" +
		"inv.csv:10: column field 7: " + ingest.ErrQuote.Error() + "\n"
	if diff := cmp.Diff(want, resultText(res)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	assertNoCanary(t, dir, map[string]string{"result": resultText(res)}, []string{"CANARY", "4722334455", "91234567"})
}

func TestProfileFileRefused(t *testing.T) {
	p := parseProfile(t, noProfileRejects)
	_, _, pseudo, oslo := profileEnv(t)
	tests := []struct{ name, input, want string }{
		{"no header", "974760673;91234567;29.03.2026;02:30;Tale;+4722334455;CANARY;0:01:00;1,00\n", `lacks the column(s) the profile maps to org_number ("Org.nr")`},
		{"empty", "", "the file is empty"},
		{"mapped twice", "Org.nr;Abonnement;Dato;Tid;Tjeneste;Varighet;Beløp;org.nr\n", `mapped column "org.nr" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Open(strings.NewReader(tt.input), "inv.csv", pseudo, oslo)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "CANARY") || strings.Contains(err.Error(), "91234567") {
				t.Errorf("Open: got %v, want a refusal holding %q and no content", err, tt.want)
			}
		})
	}
}
