package server

import (
	"bytes"
	"testing"
	"time"

	ur "usagereport"
)

// TestDownload: the file byte for byte, its headers, conditional and range
// requests, and the audit log's record of each.
func TestDownload(t *testing.T) {
	b := setup(t, nil)
	c := b.client(t)
	want := b.file(orgA, oct, "parquet")
	url := b.url + "/v1/reports/2026-10.parquet"
	auth := bearer(b.tokA)

	r := do(t, c, "GET", url, nil, auth)
	if r.status != 200 || !bytes.Equal(r.body, want) {
		t.Fatalf("GET: status %d, %d bytes; want 200 and %d bytes equal to the file", r.status, len(r.body), len(want))
	}
	for k, v := range map[string]string{
		"Content-Type":        "application/vnd.apache.parquet",
		"Content-Disposition": `attachment; filename="974760673-2026-10.parquet"`,
		"Accept-Ranges":       "bytes",
		"Cache-Control":       "no-store",
	} {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	etag, lastMod := r.header.Get("ETag"), r.header.Get("Last-Modified")
	if len(etag) < 3 || etag[0] != '"' || lastMod == "" {
		t.Fatalf("ETag %q, Last-Modified %q: want a strong ETag and a date", etag, lastMod)
	}
	x := do(t, c, "GET", b.url+"/v1/reports/2026-10.xlsx", nil, auth)
	if got := x.header.Get("Content-Type"); got != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" || !bytes.Equal(x.body, b.file(orgA, oct, "xlsx")) {
		t.Errorf("xlsx: Content-Type %q, body equal %v", got, bytes.Equal(x.body, b.file(orgA, oct, "xlsx")))
	}

	cases := []struct {
		name   string
		header []string
		status int
		body   []byte
	}{
		{"if-none-match", []string{"If-None-Match: " + etag}, 304, nil},
		{"if-none-match other", []string{`If-None-Match: "other"`}, 200, want},
		{"if-modified-since", []string{"If-Modified-Since: " + lastMod}, 304, nil},
		{"range", []string{"Range: bytes=100-199"}, 206, want[100:200]},
		{"suffix range", []string{"Range: bytes=-10"}, 206, want[len(want)-10:]},
		{"if-range matches", []string{"Range: bytes=0-9", "If-Range: " + etag}, 206, want[:10]},
		{"if-range stale", []string{"Range: bytes=0-9", `If-Range: "stale"`}, 200, want},
		{"unsatisfiable", []string{"Range: bytes=999999-"}, 416, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, c, "GET", url, nil, append(tc.header, auth)...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			if tc.body != nil && !bytes.Equal(r.body, tc.body) {
				t.Errorf("body: %d bytes, not the %d wanted", len(r.body), len(tc.body))
			}
		})
	}
	if r := do(t, c, "HEAD", url, nil, auth); r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Length") != "5000" {
		t.Errorf("HEAD: status %d, %d bytes, Content-Length %q", r.status, len(r.body), r.header.Get("Content-Length"))
	}

	// A report replaced by the next run gets a new ETag.
	b.clock.Add(time.Hour)
	b.writeReport(t, orgA, oct, "parquet", 5001)
	if r := do(t, c, "GET", url, nil, auth, "If-None-Match: "+etag); r.status != 200 || r.header.Get("ETag") == etag {
		t.Errorf("after replacing the file: status %d, ETag %q; want 200 and a new ETag", r.status, r.header.Get("ETag"))
	}

	// A download's event is written after its last byte, so the client
	// can be done first; Shutdown waits for the handlers.
	if err := b.srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs, err := b.store.AuditEvents(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range evs {
		if ev.Org != orgA || ev.Remote != "127.0.0.1" {
			t.Errorf("audit event %+v: want org A from 127.0.0.1", ev)
		}
		count[ev.Report+" "+ev.Outcome]++
	}
	// Downloads of the parquet file: the first GET, if-none-match other,
	// range, suffix range, if-range matches, if-range stale, after replacing.
	wantCount := map[string]int{
		"974760673-2026-10.parquet " + ur.OutcomeDownloaded:  7,
		"974760673-2026-10.xlsx " + ur.OutcomeDownloaded:     1,
		"974760673-2026-10.parquet " + ur.OutcomeNotModified: 2,
		"974760673-2026-10.parquet status 416":               1,
		"974760673-2026-10.parquet status 200 (HEAD)":        1,
	}
	for k, n := range wantCount {
		if count[k] != n {
			t.Errorf("audit: %d events %q, want %d (all: %v)", count[k], k, n, count)
		}
	}
}

// TestMetrics: requests, downloads and failed authentications are counted,
// and shown on the metrics address only, never on the public one.
func TestMetrics(t *testing.T) {
	b := setup(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	c := b.client(t)
	if r := do(t, c, "GET", b.url+"/metrics", nil); r.status != 404 || bytes.Contains(r.body, []byte("usagereport_")) {
		t.Errorf("/metrics on the public address: status %d, body %q; want 404", r.status, r.body)
	}
	do(t, c, "GET", b.url+"/v1/reports/2026-10.xlsx", nil, bearer(b.tokA))
	do(t, c, "GET", b.url+"/v1/reports", nil, bearer(ur.NewToken()))
	if r := do(t, c, "GET", b.url+"/healthz", nil); r.status != 200 || string(r.body) != "ok\n" {
		t.Errorf("healthz: %d %q", r.status, r.body)
	}
	r := do(t, c, "GET", "http://"+b.srv.MetricsAddr()+"/metrics", nil)
	for _, line := range []string{
		`usagereport_http_requests_total{code="200"} 2`,
		`usagereport_http_requests_total{code="401"} 1`,
		`usagereport_http_requests_total{code="404"} 1`,
		`usagereport_downloads_total{format="xlsx"} 1`,
		`usagereport_downloads_total{format="parquet"} 0`,
		`usagereport_download_bytes_total 3000`,
		`usagereport_auth_failures_total 1`,
		`# TYPE usagereport_auth_failures_total counter`,
	} {
		if !bytes.Contains(r.body, []byte(line+"\n")) {
			t.Errorf("metrics lack %q:\n%s", line, r.body)
		}
	}
	if ct := r.header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("metrics Content-Type %q", ct)
	}
}
