package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ur "usagereport"
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
	return string(chromium(t, b, page, "--dump-dom"))
}

// chromium serves page on the server's origin (beside its handler), loads
// it in headless Chromium with args and returns what Chromium printed.
func chromium(t *testing.T, b *bundle, page string, args ...string) []byte {
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
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--virtual-time-budget=10000"}, args...)
	out, err := exec.CommandContext(ctx, chromiumPath, append(args, ts.URL+"/test-page")...).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return out
}

// signInPage is a test page that signs in with token through the page's
// form; Chromium follows the POST and the redirect to the signed-in page.
func signInPage(token string) string {
	return `<!doctype html><form method="post" action="/signin"><input name="token" value="` + token +
		`"></form><script>document.forms[0].submit()</script>`
}

// TestChromiumScreenshot renders the signed-in page in headless Chromium
// and checks the picture: the page's size, ink where the heading, the
// organisation and the list are, and a picture unlike the sign-in page's.
// USAGEREPORT_SCREENSHOT_DIR keeps the PNGs for a person to look at.
func TestChromiumScreenshot(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("NOTICE: %s not found; the headless browser test did not run (apt-get install chromium, or scripts/test, to run it)", chromiumPath)
	}
	b := setup(t, nil)
	if err := b.store.PutOrg(context.Background(), ur.OrgInfo{Org: orgA, Name: "Acme AS"}); err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("USAGEREPORT_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := func(name, page string) image.Image {
		path := filepath.Join(dir, name)
		chromium(t, b, page, "--window-size=800,600", "--screenshot="+path)
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("chromium wrote no screenshot: %v", err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		return img
	}
	signedIn := shot("signed-in.png", signInPage(b.tokA))
	signIn := shot("sign-in.png", `<!doctype html><meta http-equiv="refresh" content="0; url=/">`)

	if got := signedIn.Bounds().Size(); got != image.Pt(800, 600) {
		t.Fatalf("screenshot size %v, want 800x600", got)
	}
	// Ink (dark pixels) by band of 40 pixel rows: the page is text on
	// white, in a column at the top.
	ink := func(img image.Image, y0, y1 int) int {
		n := 0
		for y := y0; y < y1; y++ {
			for x := 0; x < img.Bounds().Dx(); x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if (r+g+bl)/3 < 0x8000 {
					n++
				}
			}
		}
		return n
	}
	if n := ink(signedIn, 0, 600); n < 500 || n > 800*600/4 {
		t.Errorf("signed-in page: %d dark pixels; want text on a white page", n)
	}
	if ink(signedIn, 0, 120) == 0 || ink(signedIn, 120, 300) == 0 {
		t.Errorf("signed-in page: no text in the heading's or the list's band")
	}
	if ink(signedIn, 450, 600) != 0 {
		t.Errorf("signed-in page: text at the bottom of an 800x600 window; the page is a short list")
	}
	differ := 0
	for y := 0; y < 600; y++ {
		for x := 0; x < 800; x++ {
			if signedIn.At(x, y) != signIn.At(x, y) {
				differ++
			}
		}
	}
	if differ < 500 {
		t.Errorf("signed-in and sign-in pages look alike (%d pixels differ): the sign-in did not land", differ)
	}
	// What the picture shows, from the same page's DOM.
	dom := chromiumDOM(t, b, signInPage(b.tokA))
	for _, want := range []string{"<strong>Acme AS</strong>", "Organisation 974760673", ">Excel</a><span>3.0 kB</span>", ">Parquet</a><span>5.0 kB</span>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("signed-in page lacks %q:\n%s", want, dom)
		}
	}
	if strings.Index(dom, ">Excel<") > strings.Index(dom, ">Parquet<") {
		t.Errorf("Parquet before Excel:\n%s", dom)
	}
}
