package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const chromiumPath = "/usr/bin/chromium"

// TestChromiumSignIn signs in through the page in headless Chromium (Debian's
// chromium package) and checks the page it lands on lists this
// organisation's downloads and nothing of the other's. Skipped, with a
// notice, where Chromium is not installed.
//
// Without a DevTools client, the sign-in is driven by a test-only page on
// the same origin that fills in the form and submits it; --virtual-time-budget
// lets Chromium follow the POST and the redirect before --dump-dom.
func TestChromiumSignIn(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("NOTICE: %s not found; the headless browser test did not run (apt-get install chromium to run it)", chromiumPath)
	}
	b := setup(t, nil)
	srv, err := New(Config{Addr: "127.0.0.1:0", Reports: b.reports, Now: b.clock.Now}, b.store, b.store)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.HandleFunc("GET /test-sign-in", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><form method="post" action="/signin"><input name="token" value="` + b.tokA +
			`"></form><script>document.forms[0].submit()</script>`))
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, chromiumPath, "--headless", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", ts.URL+"/test-sign-in").Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	for _, want := range []string{"Organisation 974760673", `href="/v1/reports/2026-10.xlsx"`, `href="/v1/reports/2026-10.parquet"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("page after sign-in lacks %q:\n%s", want, dom)
		}
	}
	if strings.Contains(dom, "923609016") || strings.Contains(dom, "2026-11") {
		t.Errorf("page shows the other organisation's reports:\n%s", dom)
	}
}
