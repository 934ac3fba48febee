package server

import (
	"errors"
	"log/slog"
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
		// A valid token of an organisation no longer served is refused
		// as an unknown one and counts as a failure, audited as refused.
		if err := s.checkOrg(r, tok.Org); err != nil {
			if !errors.Is(err, ur.ErrNotFound) {
				s.limiter.giveBack(key) // our failure, not the client's
			}
			return ur.TokenInfo{}, err
		}
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
	if err := s.checkOrg(r, tok.Org); err != nil {
		if errors.Is(err, ur.ErrNotFound) {
			s.sess.endOrg(tok.Org)
		}
		return ur.TokenInfo{}, err
	}
	return tok, nil
}

// checkOrg returns ur.ErrNotFound, audited, for an organisation the server
// no longer serves: one not in the registry (org remove revokes its tokens
// too, but a token made before, or a registry edited by hand, must not
// outlive the entry), or one whose agreement ended more than the retention
// period (Config.AgreementGrace months) ago, when purge deletes its
// records. The registry is read on every request, as the token is, so a
// removal takes effect at once in a running server, whichever process
// made it.
func (s *Server) checkOrg(r *http.Request, org ur.Org) error {
	o, err := s.orgs.Org(r.Context(), org)
	if err != nil && !errors.Is(err, ur.ErrNotFound) {
		return err
	}
	now := s.cfg.Now()
	if err == nil && (o.AgreementEnd.IsZero() || now.Before(o.AgreementEnd.AddDate(0, s.cfg.AgreementGrace, 0))) {
		return nil
	}
	s.cfg.Logger.Warn("refused a token of an organisation not served", slog.String(attrOrg, org.String()))
	s.appendAudit(r, ur.AuditEvent{Time: now, Org: org, Outcome: ur.OutcomeOrgNotServed, Remote: remoteIP(r)})
	return ur.ErrNotFound
}

// startSession makes a session for a token that checkToken accepted, under
// the sign-in rate limits of the client's address and of the token, and
// writes the sign-in to the audit log. It returns the cookie value, or
// errRateLimited with Retry-After set, or errSessionsFull.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, token string, tok ur.TokenInfo) (string, error) {
	hash := ur.TokenHash(token)
	ok, wait := s.signIns.take(clientKey(r))
	if ok {
		var okTok bool
		if okTok, wait = s.tokenSignIns.take([32]byte(hash)); !okTok {
			s.signIns.giveBack(clientKey(r))
			ok = false
		}
	}
	if !ok {
		s.metrics.signInLimited.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		return "", errRateLimited
	}
	v, err := s.sess.create(hash, tok.Org)
	if err != nil {
		s.cfg.Logger.Warn("sign-in refused: the session table is full", slog.String(attrOrg, tok.Org.String()))
		w.Header().Set("Retry-After", "60")
		return "", err
	}
	s.appendAudit(r, ur.AuditEvent{Time: s.cfg.Now(), Org: tok.Org, Outcome: ur.OutcomeSignedIn, Remote: remoteIP(r)})
	return v, nil
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
