package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	dom := chromiumDOM(t, b, `<!doctype html><form method="post" action="/signin"><input name="token" value="`+b.tokA+
		`"></form><script>document.forms[0].submit()</script>`)
	for _, want := range []string{"Organisation 974760673", `href="/v1/reports/2026-10.xlsx"`, `href="/v1/reports/2026-10.parquet"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("page after sign-in lacks %q:\n%s", want, dom)
		}
	}
	if strings.Contains(dom, "923609016") || strings.Contains(dom, "2026-11") {
		t.Errorf("page shows the other organisation's reports:\n%s", dom)
	}
}

// TestChromiumDownload signs in and downloads a report through the page's
// session in headless Chromium: a test page on the same origin posts the
// sign-in form with fetch, then fetches the report the way the page's
// download link does (with the session cookie, no token), and writes the
// SHA-256 of what it got into the page. The report must arrive byte for
// byte; the other organisation's must not arrive at all.
func TestChromiumDownload(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("NOTICE: %s not found; the headless browser test did not run (apt-get install chromium to run it)", chromiumPath)
	}
	b := setup(t, nil)
	dom := chromiumDOM(t, b, `<!doctype html><pre id="out">pending</pre><script>
(async () => {
  const hex = b => Array.from(new Uint8Array(b)).map(x => x.toString(16).padStart(2, "0")).join("");
  const out = [];
  try {
    await fetch("/signin", {method: "POST", body: new URLSearchParams({token: "`+b.tokA+`"})});
    for (const path of ["/v1/reports/2026-10.parquet", "/v1/reports/2026-11.parquet"]) {
      const res = await fetch(path);
      out.push(path + " " + res.status + " " + (res.ok ? hex(await crypto.subtle.digest("SHA-256", await res.arrayBuffer())) : "-"));
    }
  } catch (e) { out.push("error " + e); }
  document.getElementById("out").textContent = out.join("\n");
})();
</script>`)
	sum := sha256.Sum256(b.file(orgA, oct, "parquet"))
	for _, want := range []string{
		"/v1/reports/2026-10.parquet 200 " + hex.EncodeToString(sum[:]),
		"/v1/reports/2026-11.parquet 404 -", // the other organisation's month
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %q:\n%s", want, dom)
		}
	}
}

// chromiumDOM serves page on the server's origin (beside its handler) and
// returns the DOM headless Chromium has after loading it and running its
// scripts.
func chromiumDOM(t *testing.T, b *bundle, page string) string {
	t.Helper()
	srv, err := New(Config{Addr: "127.0.0.1:0", Reports: b.reports, Now: b.clock.Now}, b.store, b.store, b.store)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.HandleFunc("GET /test-page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(page))
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, chromiumPath, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", ts.URL+"/test-page").Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}
