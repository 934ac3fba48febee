package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"usagereport/export"
)

// canaryExport writes an export whose every dropped column, and an unknown
// one, holds a unique canary, with good rows, bad rows and quoted fields.
// It returns the file and every secret it holds.
func canaryExport(t *testing.T, dir string) (string, []string) {
	t.Helper()
	var b strings.Builder
	var secrets []string
	b.WriteString("org_number,subscriber,user_name,cost_centre,start_time,service,b_number,b_name,destination,duration_s,volume_bytes,country,charge,imei,cell_id,ip_address,notes\n")
	orgs := []string{"974760673", "923609016", "991825827"}
	services := []string{"voice", "sms", "mms", "data"}
	for i := range 600 {
		sub := fmt.Sprintf("+47900%05d", i%90)
		bnum := fmt.Sprintf("+47221%05d", i)
		imei := fmt.Sprintf("35%013d", 7000000000000+i)
		row := []string{
			orgs[i%3], sub, fmt.Sprintf("CANARY-USER-%d", i), []string{"Sales", "IT", "Drift"}[i%3 /*cost centre*/],
			fmt.Sprintf("2026-10-%02dT12:00:00+02:00", 1+i%28), services[i%4], bnum,
			fmt.Sprintf(`"CANARY-BNAME, %d ""x"""`, i), fmt.Sprintf("CANARY-DEST-%d", i),
			"60", "1000", []string{"", "SE", "US"}[i%3], "1.5", imei,
			fmt.Sprintf("CANARY-CELL-%d", i), fmt.Sprintf("10.99.%d.%d", i/256, i%256), fmt.Sprintf("CANARY-NOTES-%d", i),
		}
		switch i % 50 {
		case 7:
			row[5] = "CANARY-SERVICE" // a bad value in a kept column
		case 8:
			row[1] = "+47CANARY12" // a bad subscriber
		case 9:
			row = row[:10] // wrong number of fields
		}
		b.WriteString(strings.Join(row, ",") + "\n")
		secrets = append(secrets, sub, strings.TrimPrefix(sub, "+"), bnum, strings.TrimPrefix(bnum, "+"), imei)
	}
	secrets = append(secrets, "CANARY")
	return writeFile(t, dir, "canary.csv", b.String()), secrets
}

// TestNothingDroppedComesOut runs ingest and report end to end and looks
// for every secret in every byte the run left: the store, the reports
// (raw, decoded from Parquet, and unzipped for workbooks), and what the
// commands printed.
func TestNothingDroppedComesOut(t *testing.T) {
	dir := t.TempDir()
	file, secrets := canaryExport(t, dir)
	store, out := filepath.Join(dir, "store"), filepath.Join(dir, "out")
	var printed strings.Builder
	for _, args := range [][]string{
		{"ingest", "--store", store, file},
		{"ingest", "--store", store, file},
		{"report", "--store", store, "--month", "2026-10", "--out", out, "--min-group", "3"},
	} {
		r := mustRun(t, args...)
		printed.WriteString(r.stdout + r.stderr)
	}
	if !strings.Contains(printed.String(), "rejected") {
		t.Fatalf("the run printed no rejections; the test would prove nothing:\n%s", printed.String())
	}
	texts := map[string][]byte{"printed output": []byte(printed.String())}
	for path, b := range readAllFiles(t, store) {
		texts[path] = b
	}
	reports := 0
	for path, b := range readAllFiles(t, out) {
		texts[path] = b
		switch filepath.Ext(path) {
		case ".parquet":
			reports++
			rep, err := export.ReadParquet(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			var s strings.Builder
			for _, row := range rep.Rows {
				fmt.Fprintf(&s, "%s %v %v %v\n", row.OrgNumber, deref(row.CostCentre), deref(row.Service), deref(row.RoamingZone))
			}
			for k, v := range rep.Metadata {
				fmt.Fprintf(&s, "%s=%s\n", k, v)
			}
			texts[path+" (decoded)"] = []byte(s.String())
		case ".xlsx":
			zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range zr.File {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				x, _ := io.ReadAll(rc)
				rc.Close()
				texts[path+"!"+f.Name] = x
			}
		}
	}
	if reports == 0 {
		t.Fatal("no report written; the test would prove nothing")
	}
	for where, b := range texts {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q", where, s)
			}
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return "<all>"
	}
	return *p
}
