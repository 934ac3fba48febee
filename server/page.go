package server

import (
	"cmp"
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	ur "usagereport"
	"usagereport/internal/humansize"
)

// page is the one template of the page for people: a sign-in form, or the
// organisation's months with download links. No script.
var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"size":       func(n int64) string { return humansize.Decimal(n, "bytes") },
	"formatName": formatName,
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Usage reports</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{padding:.3em 1em;text-align:left}td:first-child,th:first-child{padding-left:0}table{margin-top:1em}.hint{color:#555}.files a{margin-right:.3em}.files span{color:#555;margin-right:1.2em}</style>
</head>
<body>
<h1>Usage reports</h1>
{{if .SignedIn}}
<p>{{with .OrgName}}<strong>{{.}}</strong><br>{{end}}Organisation {{.List.Org}}</p>
<form method="post" action="/signout"><button type="submit">Sign out</button></form>
{{if .List.Reports}}
<table>
<tr><th>Month</th><th>Downloads</th></tr>
{{range .List.Reports}}<tr><td>{{.Month}}</td><td class="files">{{range .Files}}<a href="{{.URL}}" download>{{formatName .Format}}</a><span>{{size .Size}}</span>{{end}}</td></tr>
{{end}}</table>
{{else}}
<p>No reports yet.</p>
{{end}}
{{else}}
{{if .Failed}}<p role="alert">That token was not accepted.</p>{{end}}
{{if .Limited}}<p role="alert">Too many failed attempts from your address; try again later.</p>{{end}}
<p class="hint">Your organisation's access token comes from your provider's administrator.</p>
<form method="post" action="/signin">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="off" required size="50">
<button type="submit">Sign in</button>
</form>
{{end}}
</body>
</html>
`))

type pageData struct {
	SignedIn, Failed, Limited bool
	List                      reportList
	OrgName                   string // from the registry, where the store has one
}

// formatName is how the page names a format.
func formatName(ext string) string {
	switch ext {
	case "xlsx":
		return "Excel"
	case "parquet":
		return "Parquet"
	}
	return ext
}

// forPage orders each month's files for people: Excel, which everyone
// opens, before Parquet, for finance tools. The JSON listing keeps its own
// order.
func forPage(l reportList) reportList {
	out := l
	out.Reports = make([]reportMonth, len(l.Reports))
	for i, m := range l.Reports {
		m.Files = slices.Clone(m.Files)
		slices.SortStableFunc(m.Files, func(a, b reportFile) int {
			return cmp.Compare(slices.Index(formatExts[:], a.Format), slices.Index(formatExts[:], b.Format))
		})
		out.Reports[i] = m
	}
	return out
}

// orgName is the organisation's name from the registry, or "" where the
// organisation is not registered.
func (s *Server) orgName(ctx context.Context, org ur.Org) string {
	o, err := s.orgs.Org(ctx, org)
	if err != nil {
		if !errors.Is(err, ur.ErrNotFound) {
			s.cfg.Logger.Warn("read organisation name", slog.Any(attrError, err))
		}
		return ""
	}
	return o.Name
}

func (s *Server) render(w http.ResponseWriter, status int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := page.Execute(w, d); err != nil {
		s.cfg.Logger.Warn("render page", slog.Any(attrError, err))
	}
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	tok, err := s.sessionToken(r)
	switch {
	case errors.Is(err, ur.ErrNotFound):
		s.render(w, http.StatusOK, pageData{})
		return
	case err != nil:
		s.internalError(w, "page", err)
		return
	}
	l, err := s.list(tok.Org)
	if err != nil {
		s.internalError(w, "list reports", err)
		return
	}
	s.render(w, http.StatusOK, pageData{SignedIn: true, List: forPage(l), OrgName: s.orgName(r.Context(), tok.Org)})
}

// handleSignIn exchanges a token for a session cookie. Cross-site posts
// never get here: the whole server sits behind http.CrossOriginProtection
// (Sec-Fetch-Site, else Origin against Host), and the cookie is
// SameSite=Strict besides.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSpace(r.PostFormValue("token"))
	tok, err := s.checkToken(w, r, token)
	switch {
	case errors.Is(err, errRateLimited):
		s.render(w, http.StatusTooManyRequests, pageData{Limited: true})
		return
	case errors.Is(err, ur.ErrNotFound):
		s.render(w, http.StatusUnauthorized, pageData{Failed: true})
		return
	case err != nil:
		s.internalError(w, "sign in", err)
		return
	}
	v, err := s.startSession(w, r, token, tok)
	switch {
	case errors.Is(err, errRateLimited):
		s.render(w, http.StatusTooManyRequests, pageData{Limited: true})
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, s.sessionCookie(v, int(s.cfg.SessionTTL.Seconds())))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.cookieName()); err == nil {
		s.sess.delete(c.Value)
	}
	http.SetCookie(w, s.sessionCookie("", -1))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
