package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path"
	"sync"
	"time"

	ur "usagereport"
)

// Log attribute keys.
const (
	attrAddr  = "addr"
	attrError = "error"
	attrOrg   = "org"
	attrMonth = "month"
	attrWhat  = "what"
)

// Server serves the reports folder to the organisations' tokens.
type Server struct {
	cfg          Config
	tokens       ur.Tokens
	orgs         Registry
	audit        ur.AuditLog
	root         *os.Root // the reports folder: nothing outside it can be opened
	tls          bool
	http         *http.Server
	metricsHTTP  *http.Server         // nil without Config.MetricsAddr
	limiter      *limiter[netip.Addr] // failed authentications per address
	signIns      *limiter[netip.Addr] // successful sign-ins per address
	tokenSignIns *limiter[[32]byte]   // successful sign-ins per token hash
	sess         *sessions
	metrics      metrics

	closeRoot     sync.Once
	mu            sync.Mutex
	ln, metricsLn net.Listener
	served        chan struct{} // closed when both Serves have returned
	serveErr      error
}

// Registry is the part of the organisation registry the server reads: it
// serves only organisations the registry has (ur.Registry's Org).
type Registry interface {
	Org(ctx context.Context, org ur.Org) (ur.OrgInfo, error)
}

// httpServer is an http.Server for h with c's limits and timeouts, writes
// limited to write, logging its errors as warnings.
func (c Config) httpServer(h http.Handler, write time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      write,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(c.Logger.Handler(), slog.LevelWarn),
	}
}

// New checks cfg and opens the reports folder. It does not listen yet.
func New(cfg Config, tokens ur.Tokens, orgs Registry, audit ur.AuditLog) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server configuration: %w", err)
	}
	cfg = cfg.withDefaults()
	root, err := os.OpenRoot(cfg.Reports)
	if err != nil {
		return nil, fmt.Errorf("open reports folder: %w", err)
	}
	s := &Server{
		cfg: cfg, tokens: tokens, orgs: orgs, audit: audit, root: root,
		tls:          cfg.TLSCert != "",
		limiter:      newLimiter[netip.Addr](cfg.AuthBurst, cfg.AuthEvery, cfg.MaxLimited, cfg.Now),
		signIns:      newLimiter[netip.Addr](cfg.SignInBurst, cfg.SignInEvery, cfg.MaxLimited, cfg.Now),
		tokenSignIns: newLimiter[[32]byte](cfg.SignInBurst, cfg.SignInEvery, cfg.MaxLimited, cfg.Now),
		sess:         newSessions(cfg.SessionTTL, cfg.MaxSessions, cfg.MaxOrgSessions, cfg.Now),
	}
	s.http = cfg.httpServer(s.Handler(), cfg.WriteTimeout)
	if cfg.MetricsAddr != "" {
		s.metricsHTTP = cfg.httpServer(s.MetricsHandler(), time.Minute)
	}
	if s.tls {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			root.Close()
			return nil, fmt.Errorf("load TLS certificate and key: %w", err)
		}
		s.http.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	return s, nil
}

// Handler returns the server's public routes behind its guards: the
// metrics counter, security headers, the path guard, the body limit and the
// cross-origin check, in that order. /metrics is not among them: see
// MetricsHandler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /v1/reports", s.handleList)
	mux.HandleFunc("GET /v1/reports/{name}", s.handleDownload)
	mux.HandleFunc("GET /{$}", s.handlePage)
	mux.HandleFunc("POST /signin", s.handleSignIn)
	mux.HandleFunc("POST /signout", s.handleSignOut)

	var h http.Handler = mux
	h = http.NewCrossOriginProtection().Handler(h)
	h = limitBody(h)
	h = guardPath(h)
	h = s.secure(h)
	return s.count(h)
}

// MetricsHandler answers GET /metrics, for the separate metrics address
// only: an operator's network, not the organisations'.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		s.metrics.write(w, s.sess.len(), s.limiter.size())
	})
	return mux
}

// count counts requests by status and those in flight.
func (s *Server) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.metrics.inFlight.Add(1)
		defer s.metrics.inFlight.Add(-1)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if c := sw.code(); c >= 0 && c < len(s.metrics.requests) {
			s.metrics.requests[c].Add(1)
		}
	})
}

// secure sets the headers every answer carries.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		if s.tls {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// guardPath refuses, before routing, any request whose path is not plainly
// one of ours: over-long (414); escaped in a way that matters, such as %2f
// (RawPath is set only then); holding a byte outside [A-Za-z0-9./_-] (a
// decoded %25, a backslash, NUL, non-ASCII); or not clean (dot segments,
// double or trailing slashes). The mux would redirect an unclean path;
// answering 400 instead keeps every such probe a plain 4xx.
func guardPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if len(r.RequestURI) > maxRequestURI || len(p) > maxRequestURI {
			writeError(w, http.StatusRequestURITooLong)
			return
		}
		if r.URL.RawPath != "" || !plainPath(p) || path.Clean(p) != p {
			writeError(w, http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func plainPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '/' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// limitBody bounds request bodies; only the sign-in form has one. A body
// declared larger than the bound is refused at once, 413, and the
// connection closed, without waiting for a body that may never come (the
// read time-out would hold the connection for 30 s). A body of unknown
// length is cut at the bound as it is read.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxRequestBody {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		next.ServeHTTP(w, r)
	})
}

// writeError answers status with a fixed JSON body: nothing from the
// request and nothing about why.
func writeError(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Disposition")
	h.Del("ETag")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{http.StatusText(status)})
}

// notFound is the one answer for another organisation's report, a month
// without one, and a name that is no report's: the same status and body.
func notFound(w http.ResponseWriter) { writeError(w, http.StatusNotFound) }

// internalError logs err and answers "internal error".
func (s *Server) internalError(w http.ResponseWriter, what string, err error) {
	s.cfg.Logger.Error("request failed", slog.String(attrWhat, what), slog.Any(attrError, err))
	writeError(w, http.StatusInternalServerError)
}

// remoteIP is the peer's address for the audit log, without the port.
func remoteIP(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return ap.Addr().Unmap().String()
}

// Start listens on the configured addresses and serves in the background
// until Shutdown. ctx bounds only the listening.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var mln net.Listener
	if s.metricsHTTP != nil {
		if mln, err = lc.Listen(ctx, "tcp", s.cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics: %w", err)
		}
	}
	s.mu.Lock()
	s.ln, s.metricsLn = ln, mln
	s.served = make(chan struct{})
	s.mu.Unlock()
	s.cfg.Logger.Info("serving reports", slog.String(attrAddr, ln.Addr().String()), slog.Bool("tls", s.tls))
	var wg sync.WaitGroup
	serve := func(srv *http.Server, ln net.Listener, tls bool) {
		defer wg.Done()
		var err error
		if tls {
			err = srv.ServeTLS(ln, "", "") // certificates from TLSConfig
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.serveErr = errors.Join(s.serveErr, err)
			s.mu.Unlock()
		}
	}
	wg.Add(1)
	go serve(s.http, ln, s.tls)
	if mln != nil {
		s.cfg.Logger.Info("serving metrics", slog.String(attrAddr, mln.Addr().String()))
		wg.Add(1)
		go serve(s.metricsHTTP, mln, false)
	}
	go func() {
		wg.Wait()
		close(s.served)
	}()
	return nil
}

// Addr returns the address the server listens on, after Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// MetricsAddr returns the address /metrics is served on, after Start; ""
// when it is not served.
func (s *Server) MetricsAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.Addr().String()
}

// Shutdown stops accepting connections and waits for the requests in
// flight, downloads included, to finish; idle connections are closed at
// once. When ctx ends first, the remaining connections are cut and ctx's
// error returned. A second call does nothing more.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	if s.metricsHTTP != nil {
		if merr := s.metricsHTTP.Shutdown(ctx); merr != nil {
			s.metricsHTTP.Close()
			err = errors.Join(err, merr)
		}
	}
	s.mu.Lock()
	served := s.served
	s.mu.Unlock()
	if served != nil {
		<-served
	}
	s.mu.Lock()
	err = errors.Join(err, s.serveErr)
	s.mu.Unlock()
	s.closeRoot.Do(func() { err = errors.Join(err, s.root.Close()) })
	return err
}
