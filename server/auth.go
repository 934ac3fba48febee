package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	ur "usagereport"
)

// authenticate returns the token a request carries: a Bearer token, or else
// the page's session cookie. On failure it has answered the request.
//
// A Bearer header that is present decides alone: a bad one is a failure
// even with a good cookie. A missing, unknown or expired cookie is not a
// failed authentication (cookies expire in normal use, and a session id is
// as unguessable as a token), so it is neither rate limited nor audited.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (ur.TokenInfo, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			token = ""
		}
		tok, err := s.checkToken(w, r, strings.TrimSpace(token))
		switch {
		case err == nil:
			return tok, true
		case errors.Is(err, errRateLimited):
			writeError(w, http.StatusTooManyRequests)
		case errors.Is(err, ur.ErrNotFound):
			w.Header().Set("WWW-Authenticate", `Bearer realm="usagereport"`)
			writeError(w, http.StatusUnauthorized)
		default:
			s.internalError(w, "authenticate", err)
		}
		return ur.TokenInfo{}, false
	}
	tok, err := s.sessionToken(r)
	switch {
	case err == nil:
		return tok, true
	case errors.Is(err, ur.ErrNotFound):
		w.Header().Set("WWW-Authenticate", `Bearer realm="usagereport"`)
		writeError(w, http.StatusUnauthorized)
	default:
		s.internalError(w, "authenticate", err)
	}
	return ur.TokenInfo{}, false
}

var errRateLimited = errors.New("too many failed authentications")

// checkToken checks a token's text under the rate limit. A failure is
// counted, audited and returned as ur.ErrNotFound; a client over its limit
// gets errRateLimited, with Retry-After set, and its token is not looked at.
func (s *Server) checkToken(w http.ResponseWriter, r *http.Request, token string) (ur.TokenInfo, error) {
	key := clientKey(r)
	ok, wait := s.limiter.take(key)
	if !ok {
		s.metrics.rateLimited.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		return ur.TokenInfo{}, errRateLimited
	}
	var (
		tok ur.TokenInfo
		err error = ur.ErrNotFound
	)
	if ur.ValidTokenText(token) {
		tok, err = s.tokens.TokenByHash(r.Context(), ur.TokenHash(token))
	}
	switch {
	case err == nil:
		s.limiter.giveBack(key)
		return tok, nil
	case errors.Is(err, ur.ErrNotFound):
		s.metrics.authFailures.Add(1)
		s.appendAudit(r, ur.AuditEvent{Time: s.cfg.Now(), Outcome: ur.OutcomeFailedAuth, Remote: remoteIP(r)})
		return ur.TokenInfo{}, ur.ErrNotFound
	default:
		s.limiter.giveBack(key) // our failure, not the client's
		return ur.TokenInfo{}, err
	}
}

// sessionToken returns the token behind the request's session cookie,
// checked again so that a revoked token's sessions end at once.
func (s *Server) sessionToken(r *http.Request) (ur.TokenInfo, error) {
	c, err := r.Cookie(s.cookieName())
	if err != nil {
		return ur.TokenInfo{}, ur.ErrNotFound
	}
	se, ok := s.sess.get(c.Value)
	if !ok {
		return ur.TokenInfo{}, ur.ErrNotFound
	}
	tok, err := s.tokens.TokenByHash(r.Context(), se.tokenHash)
	if errors.Is(err, ur.ErrNotFound) {
		s.sess.delete(c.Value)
	}
	if err != nil {
		return ur.TokenInfo{}, err
	}
	if tok.Org != se.org { // cannot happen: a hash has one row
		return ur.TokenInfo{}, ur.ErrNotFound
	}
	return tok, nil
}

// cookieName is __Host- prefixed under TLS: the browser then takes the
// cookie only if Secure, for path /, and set by this very host.
func (s *Server) cookieName() string {
	if s.tls {
		return "__Host-usagereport"
	}
	return "usagereport"
}

func (s *Server) sessionCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: s.cookieName(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteStrictMode,
	}
}
