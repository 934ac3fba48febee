package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	ur "usagereport"
)

// TestOwnReportsOnly: each organisation, by token and by the page's cookie,
// sees and downloads its own reports and never the other's; asking for the
// other's month answers exactly as a month nobody has.
func TestOwnReportsOnly(t *testing.T) {
	b := setup(t, nil)
	type who struct {
		name  string
		org   ur.Org
		tok   string
		other ur.Org
	}
	for _, w := range []who{{"A", orgA, b.tokA, orgB}, {"B", orgB, b.tokB, orgA}} {
		for _, mode := range []string{"bearer", "cookie"} {
			t.Run(w.name+"/"+mode, func(t *testing.T) {
				c := b.client(t)
				var auth []string
				if mode == "bearer" {
					auth = []string{bearer(w.tok)}
				} else {
					b.signIn(t, c, w.tok)
				}

				// The listing holds this organisation's files, and only those.
				r := do(t, c, "GET", b.url+"/v1/reports", nil, auth...)
				if r.status != 200 {
					t.Fatalf("list: status %d", r.status)
				}
				var l reportList
				if err := json.Unmarshal(r.body, &l); err != nil {
					t.Fatal(err)
				}
				if l.Org != w.org.String() {
					t.Errorf("list: org %s, want %s", l.Org, w.org)
				}
				n := 0
				for _, m := range l.Reports {
					for _, f := range m.Files {
						n++
						m, _ := ur.ParseMonth(m.Month)
						want := b.file(w.org, m, f.Format)
						if want == nil || f.Size != int64(len(want)) || !strings.HasPrefix(f.Name, w.org.String()+"-") {
							t.Errorf("list: %+v is not one of %s's files", f, w.org)
						}
						got := do(t, c, "GET", b.url+f.URL, nil, auth...)
						if got.status != 200 || !bytes.Equal(got.body, want) {
							t.Errorf("GET %s: status %d, %d bytes; want 200 and the file's %d bytes", f.URL, got.status, len(got.body), len(want))
						}
					}
				}
				if want := map[ur.Org]int{orgA: 2, orgB: 2}[w.org]; n != want {
					t.Errorf("list: %d files, want %d", n, want)
				}
				if bytes.Contains(r.body, []byte(w.other.String())) {
					t.Errorf("list mentions the other organisation: %s", r.body)
				}

				// The page lists the same, and nothing of the other's.
				if mode == "cookie" {
					p := do(t, c, "GET", b.url+"/", nil)
					if p.status != 200 || !bytes.Contains(p.body, []byte("Organisation "+w.org.String())) || bytes.Contains(p.body, []byte(w.other.String())) {
						t.Errorf("page: status %d, body:\n%s", p.status, p.body)
					}
				}

				// Every month and format: own files come back, others 404 alike.
				nobody := do(t, c, "GET", b.url+"/v1/reports/2031-01.xlsx", nil, auth...)
				if nobody.status != 404 {
					t.Fatalf("month nobody has: status %d", nobody.status)
				}
				for _, m := range []ur.Month{oct, nov} {
					for _, ext := range formatExts {
						name := m.String() + "." + ext
						got := do(t, c, "GET", b.url+"/v1/reports/"+name, nil, auth...)
						if own := b.file(w.org, m, ext); own != nil {
							if got.status != 200 || !bytes.Equal(got.body, own) {
								t.Errorf("GET %s: status %d, want 200 with own file", name, got.status)
							}
							continue
						}
						if d := sameResponse(got, nobody); d != "" {
							t.Errorf("GET %s (the other's or nobody's) differs from a month nobody has: %s", name, d)
						}
						if theirs := b.file(w.other, m, ext); theirs != nil && bytes.Contains(got.body, theirs[:64]) {
							t.Errorf("GET %s leaked the other organisation's file", name)
						}
					}
				}
			})
		}
	}
}

// TestBadTokens: malformed, unknown and revoked tokens all get the same 401,
// on every endpoint that needs one, and each attempt is audited.
func TestBadTokens(t *testing.T) {
	b := setup(t, nil)
	c := b.client(t)
	// A session made before the revocation must die with the token.
	cookieClient := b.client(t)
	b.signIn(t, cookieClient, b.tokA)
	if r := do(t, cookieClient, "GET", b.url+"/v1/reports", nil); r.status != 200 {
		t.Fatalf("cookie before revocation: status %d", r.status)
	}
	if err := b.store.RevokeToken(t.Context(), b.idA); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, header string }{
		{"no scheme", "Authorization: " + b.tokB},
		{"basic", "Authorization: Basic " + b.tokB},
		{"empty bearer", "Authorization: Bearer "},
		{"short", bearer(b.tokB[:42])},
		{"long", bearer(b.tokB + "A")},
		{"bad characters", bearer(strings.Repeat("+", 43))},
		{"padded", bearer(b.tokB[:42] + "=")},
		{"non-canonical last char", bearer(b.tokB[:42] + "B")}, // low bits set: Strict base64 refuses
		{"unknown", bearer(ur.NewToken())},
		{"revoked", bearer(b.tokA)},
		{"two tokens", bearer(b.tokB + " " + b.tokB)},
	}
	before, _ := b.store.AuditEvents(t.Context(), b.clock.Now())
	var first response
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/v1/reports", "/v1/reports/2026-10.xlsx", "/v1/reports/2026-11.parquet"} {
				r := do(t, c, "GET", b.url+path, nil, tc.header)
				if r.status != http.StatusUnauthorized {
					t.Errorf("GET %s: status %d, want 401", path, r.status)
				}
				if i == 0 {
					first = r
				} else if d := sameResponse(r, first); d != "" {
					t.Errorf("GET %s: answer differs from other bad tokens: %s", path, d)
				}
			}
		})
	}
	after, _ := b.store.AuditEvents(t.Context(), b.clock.Now())
	failed := 0
	for _, ev := range after[len(before):] {
		if ev.Outcome == ur.OutcomeFailedAuth && ev.Org == 0 && ev.Remote == "127.0.0.1" {
			failed++
		}
	}
	if want := 3 * len(cases); failed != want {
		t.Errorf("audit log: %d failed authentications, want %d", failed, want)
	}
	if r := do(t, cookieClient, "GET", b.url+"/v1/reports", nil); r.status != 401 {
		t.Errorf("cookie of a revoked token: status %d, want 401", r.status)
	}
	if r := do(t, cookieClient, "GET", b.url+"/", nil); r.status != 200 || !bytes.Contains(r.body, []byte(`action="/signin"`)) {
		t.Errorf("page with the cookie of a revoked token: status %d, not the sign-in form", r.status)
	}
	// No credentials at all: 401 too, but not a failed authentication.
	if r := do(t, c, "GET", b.url+"/v1/reports", nil); r.status != 401 {
		t.Errorf("no credentials: status %d, want 401", r.status)
	}
}
