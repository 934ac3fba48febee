package server

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// metrics are the server's counters, written in the Prometheus text format
// by hand: a handful of counters do not need a client library.
type metrics struct {
	requests      [600]atomic.Uint64 // by status code
	downloads     [numFormats]atomic.Uint64
	downloadBytes atomic.Uint64
	authFailures  atomic.Uint64
	rateLimited   atomic.Uint64
	signInLimited atomic.Uint64
	inFlight      atomic.Int64
}

func (m *metrics) write(w io.Writer, sessions, limited int) {
	metricHeader(w, "usagereport_http_requests_total", "counter", "HTTP requests answered, by status code.")
	for code := range m.requests {
		if n := m.requests[code].Load(); n > 0 {
			fmt.Fprintf(w, "usagereport_http_requests_total{code=\"%d\"} %d\n", code, n)
		}
	}
	metricHeader(w, "usagereport_downloads_total", "counter", "Report downloads answered 200 or 206, by format.")
	for f, name := range formatExts {
		fmt.Fprintf(w, "usagereport_downloads_total{format=%q} %d\n", name, m.downloads[f].Load())
	}
	metric(w, "usagereport_download_bytes_total", "counter", "Bytes of report files sent.", int64(m.downloadBytes.Load()))
	metric(w, "usagereport_auth_failures_total", "counter", "Failed authentications (API and sign-in).", int64(m.authFailures.Load()))
	metric(w, "usagereport_auth_rate_limited_total", "counter", "Authentications refused unchecked by the rate limit.", int64(m.rateLimited.Load()))
	metric(w, "usagereport_signin_rate_limited_total", "counter", "Successful sign-ins refused by the per-address or per-token limit.", int64(m.signInLimited.Load()))
	metric(w, "usagereport_http_in_flight", "gauge", "Requests being answered.", m.inFlight.Load())
	metric(w, "usagereport_sessions", "gauge", "Page sessions in memory.", int64(sessions))
	metric(w, "usagereport_rate_limited_addresses", "gauge", "Client addresses the rate limiter remembers.", int64(limited))
}

// metricHeader writes a metric's HELP and TYPE lines.
func metricHeader(w io.Writer, name, kind, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
}

// metric writes a metric without labels: its HELP and TYPE lines and value.
func metric(w io.Writer, name, kind, help string, v int64) {
	metricHeader(w, name, kind, help)
	fmt.Fprintf(w, "%s %d\n", name, v)
}

// statusWriter remembers the status and counts the body bytes. It passes
// ReadFrom through, so that files still go out by sendfile(2).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
