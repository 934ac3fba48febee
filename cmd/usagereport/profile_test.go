package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

const (
	noInvoiceProfile = "../../fixtures/profiles/no-invoice.toml"
	noInvoiceSample  = "../../fixtures/sample-profiles/no-invoice-2026-10.csv"
)

// noInvoiceSecrets are dropped values and subscriber numbers of the sample.
var noInvoiceSecrets = []string{
	"22334455", "98765432", "Hansen", "Tante", "Bråten", "41122334", "70112233", "Svensson", "22990996",
	"Linnea", "92705382", "Solveig", "2025550143", "John Smith", "46701112233", "Anna Berg", "Nordmann",
	"Lise Dahl", "Nils Berg", "Eva Lund", "Oslo fast", "356938035643809", "490154203237518",
	"91234567", "48000001", "48000002", "93000003", "46701234567",
}

func TestProfileCheck(t *testing.T) {
	r := mustRun(t, "profile", "check", "--profile", noInvoiceProfile, "--rows", "5", noInvoiceSample)
	for _, want := range []string{
		`start_time    <- "Dato" + "Tid"`,
		"line 2: org_number 974760673, subscriber <valid E.164, pseudonymised>, cost_centre \"Salg\", month 2026-10, service voice, duration_s 125",
		"5 rows read: 5 would be stored, 0 rejected",
		"dropped columns (by name; never read): Bruker, Til nummer, Mottaker, Beskrivelse, IMEI",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("profile check output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, s := range noInvoiceSecrets {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("profile check printed %q", s)
		}
	}

	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.toml", "separator = ';;'\n[columns]\norg_number = 'Org.nr'\nb_number = 'Til nummer'\n")
	r = run(t, nil, "profile", "check", "--profile", bad, noInvoiceSample)
	if r.code != ExitFailure || !strings.Contains(r.stderr, `separator ";;" is not one character`) ||
		!strings.Contains(r.stderr, `"b_number" is not a kept field`) || !strings.Contains(r.stderr, "required field charge is not mapped") {
		t.Errorf("bad profile: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	// A bad profile refuses ingest before a store is made.
	store := filepath.Join(dir, "store")
	r = run(t, nil, "ingest", "--store", store, "--profile", bad, noInvoiceSample)
	if _, err := os.Stat(store); r.code != ExitFailure || err == nil {
		t.Errorf("ingest with a bad profile: exit %d, store made: %v\n%s", r.code, err == nil, r.stderr)
	}
}

type pqExport struct {
	Org      string    `parquet:"org"`
	Msisdn   string    `parquet:"msisdn"`
	Start    time.Time `parquet:"start,timestamp(millisecond)"`
	Kind     string    `parquet:"kind"`
	Charge   float64   `parquet:"charge"`
	BNumber  string    `parquet:"b_number"`
	BName    string    `parquet:"b_name"`
	UserName string    `parquet:"user_name"`
}

// TestProfileNothingDroppedComesOut is TestNothingDroppedComesOut for
// every input format a profile reads: CSV (the Norwegian sample), JSON
// Lines and Parquet, each with call-party canaries in dropped columns and
// in rows that are rejected.
func TestProfileNothingDroppedComesOut(t *testing.T) {
	dir := t.TempDir()
	jsonlProf := writeFile(t, dir, "jsonl.toml", "format = 'jsonl'\n[columns]\norg_number = 'org'\nsubscriber = 'msisdn'\nstart_time = 'start'\nservice = 'kind'\ncharge = 'charge'\n")
	parquetProf := writeFile(t, dir, "parquet.toml", "format = 'parquet'\n[columns]\norg_number = 'org'\nsubscriber = 'msisdn'\nstart_time = 'start'\nservice = 'kind'\ncharge = 'charge'\n")
	var jl, no strings.Builder
	no.WriteString("Org.nr;Abonnement;Bruker;Kostnadssted;Dato;Tid;Tjeneste;Til nummer;Mottaker;Varighet;Bel\xf8p;IMEI\r\n")
	var pq []pqExport
	secrets := []string{"CANARY"}
	for i := range 90 {
		sub := fmt.Sprintf("+4790%06d", 1000+i*37)
		bnum := fmt.Sprintf("+4722%06d", 5000+i*41)
		imei := fmt.Sprintf("35%013d", 4000000000000+i)
		org := []string{"974760673", "923609016", "991825827"}[i%3]
		kind := []string{"voice", "sms", "data"}[i%3]
		start := time.Date(2026, 10, 1+i%28, 12, 0, 0, 0, time.UTC)
		if i%30 == 7 {
			sub = "+47CANARY" // rejected, and must not be named
		}
		jl.WriteString(`{"org":"` + org + `","msisdn":"` + sub + `","start":"` + start.Format(time.RFC3339) + `","kind":"` + kind +
			`","charge":1.5,"b_number":"` + bnum + `","b_name":"CANARY-BNAME","user":{"name":"CANARY-USER","imei":"` + imei + `"}}` + "\n")
		pq = append(pq, pqExport{Org: org, Msisdn: sub, Start: start, Kind: kind, Charge: 1.5, BNumber: bnum, BName: "CANARY-BNAME", UserName: "CANARY-USER"})
		local := start.In(time.FixedZone("", 2*3600))
		fmt.Fprintf(&no, "%s;%s;CANARY-USER Nordmann;Milj\xf8;%s;%s;%s;%s;\"CANARY; B-name \"\"%d\"\"\";0:01:%02d;1 234,%02d;%s\r\n",
			org, strings.TrimPrefix(sub, "+47"), local.Format("02.01.2006"), local.Format("15:04:05"),
			[]string{"Tale", "SMS", "Data"}[i%3], strings.TrimPrefix(bnum, "+"), i, i%60, i%100, imei)
		secrets = append(secrets, sub, strings.TrimPrefix(sub, "+"), strings.TrimPrefix(sub, "+47"), bnum, strings.TrimPrefix(bnum, "+"), imei)
	}
	noFile := writeFile(t, dir, "no-invoice.csv", no.String())
	jsonlFile := writeFile(t, dir, "usage.jsonl", jl.String())
	var buf bytes.Buffer
	if err := parquet.Write(&buf, pq); err != nil {
		t.Fatal(err)
	}
	parquetFile := writeFile(t, dir, "usage.parquet", buf.String())

	for _, tc := range []struct{ name, profile, file string }{
		{"csv", noInvoiceProfile, noFile},
		{"jsonl", jsonlProf, jsonlFile},
		{"parquet", parquetProf, parquetFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			store, out := filepath.Join(d, "store"), filepath.Join(d, "out")
			var printed strings.Builder
			for _, args := range [][]string{
				{"profile", "check", "--profile", tc.profile, "--rows", "20", tc.file},
				{"ingest", "--store", store, "--profile", tc.profile, tc.file},
				{"ingest", "--store", store, "--profile", tc.profile, tc.file},
				{"report", "--store", store, "--month", "2026-10", "--out", out, "--min-group", "3"},
			} {
				r := mustRun(t, args...)
				printed.WriteString(r.stdout + r.stderr)
			}
			if !strings.Contains(printed.String(), "87 rows stored, 3 rejected") || !strings.Contains(printed.String(), "already ingested") {
				t.Fatalf("nothing was ingested; the test would prove nothing:\n%s", printed.String())
			}
			texts := map[string][]byte{"printed output": []byte(printed.String())}
			for path, b := range readAllFiles(t, store) {
				texts[path] = b
			}
			reports := 0
			for path, b := range readAllFiles(t, out) {
				texts[path] = b
				reports++
			}
			if reports == 0 {
				t.Fatal("no report written; the test would prove nothing")
			}
			all := append(append([]string{}, secrets...), noInvoiceSecrets...)
			for where, b := range texts {
				for _, s := range all {
					if bytes.Contains(b, []byte(s)) {
						t.Errorf("%s holds %q", where, s)
					}
				}
			}
		})
	}
}
