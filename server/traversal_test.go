package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"usagereport/export"
)

// rawGet sends target exactly as written, which http.Client would clean
// or escape, and returns the answer.
func rawGet(t *testing.T, addr, target, token string) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: "+addr+"\r\nAuthorization: Bearer "+token+"\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, body}
}

// TestPathTraversal: no request path reads a file outside the reports
// folder or another organisation's folder; each probe answers 4xx.
func TestPathTraversal(t *testing.T) {
	b := setup(t, nil)
	// A symbolic link in A's own folder, with a valid report name, that
	// points out of the reports folder: os.Root must refuse it.
	link := export.Path(b.reports, orgA, oct-1, "xlsx")
	if err := os.Symlink(b.secret, link); err != nil {
		t.Fatal(err)
	}
	// And links into B's folder, which is inside the reports folder: one
	// absolute, one relative (which os.Root alone would follow).
	if err := os.Symlink(export.Path(b.reports, orgB, nov, "parquet"), export.Path(b.reports, orgA, oct-2, "parquet")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", export.Path("", orgB, nov, "parquet")), export.Path(b.reports, orgA, oct-3, "parquet")); err != nil {
		t.Fatal(err)
	}
	secret, _ := os.ReadFile(b.secret)
	bFile := b.file(orgB, nov, "parquet")

	targets := []string{
		"/v1/reports/../../secret",
		"/v1/reports/../v1/reports",
		"/v1/reports/..%2f..%2fsecret",
		"/v1/reports/%2e%2e/%2e%2e/secret",
		"/v1/reports/%2e%2e%2f%2e%2e%2fsecret",
		"/v1/reports/%252e%252e%252fsecret",
		"/v1/reports/..%252f..%252fsecret",
		"/v1/reports/%2F923609016%2F923609016-2026-11.parquet",
		"/v1/reports/..%5c..%5csecret",
		"/v1/reports/..\\..\\secret",
		"/v1/reports/2026-10.xlsx%00",
		"/v1/reports/2026-10.xlsx/",
		"/v1/reports/./2026-10.xlsx",
		"/v1//reports/2026-10.xlsx",
		"/v1/reports/2026-10.XLSX",
		"/v1/reports/2026-10.xlsx.",
		"/v1/reports/2026-10.csv",
		"/v1/reports/2026-13.xlsx",
		"/v1/reports/2026-00.xlsx",
		"/v1/reports/2026-1.xlsx",
		"/v1/reports/02026-10.xlsx",
		"/v1/reports/2026-010.xlsx",
		"/v1/reports/+2026-10.xlsx",
		"/v1/reports/2026-10",
		"/v1/reports/923609016-2026-11.parquet",
		"/v1/reports/923609016/923609016-2026-11.parquet",
		"/v1/reports/2026-09.xlsx",    // the link out of the folder
		"/v1/reports/2026-08.parquet", // the absolute link into B's folder
		"/v1/reports/2026-07.parquet", // the relative one
		"/v1/reports/" + strings.Repeat("a", 2000),
		"/v1/reports/" + strings.Repeat("../", 400) + "secret",
		"/%2e%2e/secret",
		"/../secret",
		"/secret",
		"/reports/923609016/923609016-2026-11.parquet",
		"/v1/reports/%c0%ae%c0%ae/secret",
		"/v1/reports/2026-10.xlsx?../../secret",
	}
	for _, target := range targets {
		r := rawGet(t, b.srv.Addr(), target, b.tokA)
		if target == "/v1/reports/2026-10.xlsx?../../secret" {
			// The query is ignored: A gets its own file, nothing else.
			if r.status != 200 || !bytes.Equal(r.body, b.file(orgA, oct, "xlsx")) {
				t.Errorf("GET %q: status %d, want 200 with A's own October", target, r.status)
			}
			continue
		}
		if r.status < 400 || r.status > 499 {
			t.Errorf("GET %q: status %d, want 4xx", trim(target), r.status)
		}
		if bytes.Contains(r.body, secret) || bytes.Contains(r.body, bFile[:64]) {
			t.Errorf("GET %q: served a file it must not", trim(target))
		}
	}
	// An over-long request line or header block is refused by the server.
	r := rawGet(t, b.srv.Addr(), "/v1/reports/"+strings.Repeat("a", 20<<10), b.tokA)
	if r.status != http.StatusRequestHeaderFieldsTooLarge && r.status != http.StatusRequestURITooLong {
		t.Errorf("20 KiB request line: status %d, want 431 or 414", r.status)
	}
	if fi, err := os.Lstat(filepath.Join(b.reports, "secret")); err == nil {
		t.Errorf("a file appeared in the reports folder: %v", fi.Name())
	}
}

func trim(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// FuzzReportName: whatever parseReportName accepts is exactly the
// canonical name of a month and format, so nothing else reaches a path.
func FuzzReportName(f *testing.F) {
	for _, s := range []string{"2026-10.xlsx", "2026-13.xlsx", "2026-1.parquet", "02026-10.xlsx", "../2026-10.xlsx", "2026-10.xlsx\x00", "0000-01.xlsx", "9999-12.parquet"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, format, ok := parseReportName(s)
		if !ok {
			return
		}
		if want := m.String() + "." + formatExts[format]; s != want {
			t.Errorf("parseReportName(%q) accepted it as %q", s, want)
		}
		if p := export.Path("", orgA, m, formatExts[format]); filepath.Clean(p) != p || strings.Contains(p, "..") {
			t.Errorf("parseReportName(%q) gives path %q", s, p)
		}
	})
}
