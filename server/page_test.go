package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ur "usagereport"
	"usagereport/internal/humansize"
)

// TestSignIn: the form, the cookie's attributes, the list, sign-out, and
// cross-site posts refused.
func TestSignIn(t *testing.T) {
	b := setup(t, nil)
	c := b.client(t)
	form := do(t, c, "GET", b.url+"/", nil)
	if form.status != 200 || !bytes.Contains(form.body, []byte(`<form method="post" action="/signin">`)) {
		t.Fatalf("page: status %d, no sign-in form", form.status)
	}
	if csp := form.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("page CSP %q", csp)
	}
	post := func(c *http.Client, path, body string, header ...string) response {
		return do(t, c, "POST", b.url+path, strings.NewReader(body), append(header, "Content-Type: application/x-www-form-urlencoded")...)
	}
	bad := post(c, "/signin", "token="+ur.NewToken(), "Sec-Fetch-Site: same-origin")
	if bad.status != 401 || !bytes.Contains(bad.body, []byte("not accepted")) || bad.header.Get("Set-Cookie") != "" {
		t.Errorf("wrong token: status %d, Set-Cookie %q", bad.status, bad.header.Get("Set-Cookie"))
	}

	for _, h := range [][]string{
		{"Sec-Fetch-Site: cross-site"},
		{"Sec-Fetch-Site: same-site"},
		{"Origin: http://evil.example"},
		{"Origin: null"},
	} {
		r := post(c, "/signin", "token="+b.tokA, h...)
		if r.status != http.StatusForbidden || r.header.Get("Set-Cookie") != "" {
			t.Errorf("cross-origin sign-in with %q: status %d, Set-Cookie %q; want 403 and no cookie", h, r.status, r.header.Get("Set-Cookie"))
		}
	}

	ok := post(c, "/signin", "token="+b.tokA, "Origin: "+b.url, "Sec-Fetch-Site: same-origin")
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != "/" {
		t.Fatalf("sign in: status %d, Location %q", ok.status, ok.header.Get("Location"))
	}
	sc := ok.header.Get("Set-Cookie")
	for _, attr := range []string{"usagereport=", "Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=28800"} {
		if !strings.Contains(sc, attr) {
			t.Errorf("Set-Cookie %q lacks %s", sc, attr)
		}
	}
	if strings.Contains(sc, "Secure") || strings.Contains(sc, b.tokA) {
		t.Errorf("Set-Cookie %q: Secure without TLS, or the token itself", sc)
	}
	list := do(t, c, "GET", b.url+"/", nil)
	for _, want := range []string{"Organisation 974760673", `href="/v1/reports/2026-10.xlsx"`, `href="/v1/reports/2026-10.parquet"`, `action="/signout"`} {
		if !bytes.Contains(list.body, []byte(want)) {
			t.Errorf("signed-in page lacks %q:\n%s", want, list.body)
		}
	}
	// Sign-out from another site is refused; from the page it works.
	if r := post(c, "/signout", "", "Sec-Fetch-Site: cross-site"); r.status != 403 {
		t.Errorf("cross-site sign-out: status %d, want 403", r.status)
	}
	if r := do(t, c, "GET", b.url+"/v1/reports", nil); r.status != 200 {
		t.Errorf("still signed in: status %d", r.status)
	}
	post(c, "/signout", "", "Sec-Fetch-Site: same-origin")
	if r := do(t, c, "GET", b.url+"/v1/reports", nil); r.status != 401 {
		t.Errorf("after sign-out: status %d, want 401", r.status)
	}
	// A body over the limit is refused.
	if r := post(c, "/signin", "token="+strings.Repeat("a", 10<<10), "Sec-Fetch-Site: same-origin"); r.status < 400 || r.status > 499 {
		t.Errorf("10 KiB form: status %d, want 4xx", r.status)
	}
}

// TestSessionExpires: a session lasts SessionTTL on the injected clock.
func TestSessionExpires(t *testing.T) {
	b := setup(t, func(c *Config) { c.SessionTTL = time.Hour })
	c := b.client(t)
	b.signIn(t, c, b.tokB)
	b.clock.Add(59 * time.Minute)
	if r := do(t, c, "GET", b.url+"/v1/reports", nil); r.status != 200 {
		t.Errorf("before expiry: status %d", r.status)
	}
	b.clock.Add(time.Minute)
	if r := do(t, c, "GET", b.url+"/v1/reports", nil); r.status != 401 {
		t.Errorf("at expiry: status %d, want 401", r.status)
	}
}

// TestRateLimit: failed authentications per address are limited; while
// limited, even a good token is not looked at; time refills the bucket.
func TestRateLimit(t *testing.T) {
	b := setup(t, func(c *Config) { c.AuthBurst = 3; c.AuthEvery = time.Minute; c.MetricsAddr = "127.0.0.1:0" })
	c := b.client(t)
	for i := range 3 {
		if r := do(t, c, "GET", b.url+"/v1/reports", nil, bearer(ur.NewToken())); r.status != 401 {
			t.Fatalf("failure %d: status %d, want 401", i+1, r.status)
		}
	}
	r := do(t, c, "GET", b.url+"/v1/reports", nil, bearer(b.tokA))
	if r.status != 429 || r.header.Get("Retry-After") != "60" {
		t.Errorf("good token while limited: status %d, Retry-After %q; want 429, 60", r.status, r.header.Get("Retry-After"))
	}
	if r := do(t, c, "POST", b.url+"/signin", strings.NewReader("token="+b.tokA), "Content-Type: application/x-www-form-urlencoded"); r.status != 429 {
		t.Errorf("sign-in while limited: status %d, want 429", r.status)
	}
	b.clock.Add(time.Minute)
	if r := do(t, c, "GET", b.url+"/v1/reports", nil, bearer(b.tokA)); r.status != 200 {
		t.Errorf("after a minute: status %d, want 200", r.status)
	}
	// A success gives its token back: good requests never run out.
	for range 10 {
		if r := do(t, c, "GET", b.url+"/v1/reports", nil, bearer(b.tokA)); r.status != 200 {
			t.Fatalf("good token: status %d", r.status)
		}
	}
	m := do(t, c, "GET", "http://"+b.srv.MetricsAddr()+"/metrics", nil)
	if !bytes.Contains(m.body, []byte("usagereport_auth_rate_limited_total 2\n")) {
		t.Errorf("metrics:\n%s", m.body)
	}
}

// TestLimiterBounded: the limiter's map stays within its bound, limiting
// IPv6 clients by /64.
func TestLimiterBounded(t *testing.T) {
	clk := newClock()
	l := newLimiter[netip.Addr](2, time.Minute, 100, clk.Now)
	for i := range 1000 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		l.take(a)
		if n := l.size(); n > 100 {
			t.Fatalf("after %d addresses: %d buckets, bound 100", i+1, n)
		}
	}
	r := func(addr string) *http.Request { return &http.Request{RemoteAddr: addr} }
	if a, b := clientKey(r("[2001:db8::1]:1")), clientKey(r("[2001:db8::ffff:2]:2")); a != b {
		t.Errorf("one /64: keys %v and %v differ", a, b)
	}
	if a, b := clientKey(r("[::ffff:192.0.2.1]:1")), clientKey(r("192.0.2.1:2")); a != b {
		t.Errorf("IPv4-mapped: keys %v and %v differ", a, b)
	}
}

// TestTLS: under TLS the cookie is Secure and __Host- prefixed, and plain
// HTTP is not spoken.
func TestTLS(t *testing.T) {
	cert, key := selfSigned(t)
	b := setup(t, func(c *Config) { c.TLSCert, c.TLSKey = cert, key })
	c := b.client(t)
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	r := do(t, c, "POST", b.url+"/signin", strings.NewReader("token="+b.tokA), "Content-Type: application/x-www-form-urlencoded")
	sc := r.header.Get("Set-Cookie")
	if r.status != 303 || !strings.HasPrefix(sc, "__Host-usagereport=") || !strings.Contains(sc, "Secure") {
		t.Errorf("sign in over TLS: status %d, Set-Cookie %q", r.status, sc)
	}
	if hsts := r.header.Get("Strict-Transport-Security"); hsts == "" {
		t.Errorf("no Strict-Transport-Security under TLS")
	}
	if r := do(t, c, "GET", b.url+"/v1/reports/2026-10.xlsx", nil, bearer(b.tokA)); r.status != 200 || !bytes.Equal(r.body, b.file(orgA, oct, "xlsx")) {
		t.Errorf("download over TLS: status %d", r.status)
	}
	plain := b.client(t)
	if r, err := plain.Get("http://" + b.srv.Addr() + "/healthz"); err == nil {
		if r.StatusCode != 400 {
			t.Errorf("plain HTTP to the TLS port: status %d, want 400", r.StatusCode)
		}
		r.Body.Close()
	}
}

// selfSigned writes a certificate and key for 127.0.0.1.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestPageForPeople: the sign-in form says where a token comes from; the
// signed-in page names the organisation, lists Excel before Parquet and
// gives sizes as people read them.
func TestPageForPeople(t *testing.T) {
	b := setup(t, nil)
	if err := b.store.PutOrg(context.Background(), ur.OrgInfo{Org: orgA, Name: "Acme <AS>"}); err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	form := do(t, c, "GET", b.url+"/", nil)
	if !bytes.Contains(form.body, []byte("access token comes from your provider's administrator")) {
		t.Errorf("sign-in page lacks the hint on tokens:\n%s", form.body)
	}
	do(t, c, "POST", b.url+"/signin", strings.NewReader("token="+b.tokA),
		"Content-Type: application/x-www-form-urlencoded", "Sec-Fetch-Site: same-origin")
	page := string(do(t, c, "GET", b.url+"/", nil).body)
	for _, want := range []string{
		"<strong>Acme &lt;AS&gt;</strong>", // the name, escaped
		"Organisation 974760673",
		`download>Excel</a><span>3.0 kB</span>`,
		`download>Parquet</a><span>5.0 kB</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("signed-in page lacks %q:\n%s", want, page)
		}
	}
	if x, p := strings.Index(page, ">Excel<"), strings.Index(page, ">Parquet<"); x < 0 || p < 0 || x > p {
		t.Errorf("Excel at %d, Parquet at %d: want Excel first", x, p)
	}
	if strings.Contains(page, "bytes") {
		t.Errorf("raw byte counts on the page:\n%s", page)
	}
	// The JSON listing is not the page's business: it still has both.
	if r := do(t, c, "GET", b.url+"/v1/reports", nil); !bytes.Contains(r.body, []byte(`"format":"xlsx"`)) {
		t.Errorf("listing: %s", r.body)
	}
}

// TestPageWithoutName: an organisation registered without a name is shown
// by number alone.
func TestPageWithoutName(t *testing.T) {
	b := setup(t, nil)
	if err := b.store.PutOrg(context.Background(), ur.OrgInfo{Org: orgA}); err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	do(t, c, "POST", b.url+"/signin", strings.NewReader("token="+b.tokA),
		"Content-Type: application/x-www-form-urlencoded", "Sec-Fetch-Site: same-origin")
	page := string(do(t, c, "GET", b.url+"/", nil).body)
	if !strings.Contains(page, "<p>Organisation 974760673</p>") || strings.Contains(page, "<strong>") {
		t.Errorf("page of an organisation without a name:\n%s", page)
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 999: "999 bytes", 1000: "1.0 kB", 3000: "3.0 kB", 12_345: "12 kB", 4_500_000: "4.5 MB", 2_000_000_000: "2.0 GB"} {
		if got := humansize.Decimal(n, "bytes"); got != want {
			t.Errorf("humansize.Decimal(%d, \"bytes\") = %q, want %q", n, got, want)
		}
	}
}
