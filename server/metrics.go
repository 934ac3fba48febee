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
	fmt.Fprintln(w, "# HELP usagereport_http_requests_total HTTP requests answered, by status code.")
	fmt.Fprintln(w, "# TYPE usagereport_http_requests_total counter")
	for code := range m.requests {
		if n := m.requests[code].Load(); n > 0 {
			fmt.Fprintf(w, "usagereport_http_requests_total{code=\"%d\"} %d\n", code, n)
		}
	}
	fmt.Fprintln(w, "# HELP usagereport_downloads_total Report downloads answered 200 or 206, by format.")
	fmt.Fprintln(w, "# TYPE usagereport_downloads_total counter")
	for f, name := range formatExts {
		fmt.Fprintf(w, "usagereport_downloads_total{format=%q} %d\n", name, m.downloads[f].Load())
	}
	fmt.Fprintln(w, "# HELP usagereport_download_bytes_total Bytes of report files sent.")
	fmt.Fprintln(w, "# TYPE usagereport_download_bytes_total counter")
	fmt.Fprintf(w, "usagereport_download_bytes_total %d\n", m.downloadBytes.Load())
	fmt.Fprintln(w, "# HELP usagereport_auth_failures_total Failed authentications (API and sign-in).")
	fmt.Fprintln(w, "# TYPE usagereport_auth_failures_total counter")
	fmt.Fprintf(w, "usagereport_auth_failures_total %d\n", m.authFailures.Load())
	fmt.Fprintln(w, "# HELP usagereport_auth_rate_limited_total Authentications refused unchecked by the rate limit.")
	fmt.Fprintln(w, "# TYPE usagereport_auth_rate_limited_total counter")
	fmt.Fprintf(w, "usagereport_auth_rate_limited_total %d\n", m.rateLimited.Load())
	fmt.Fprintln(w, "# HELP usagereport_signin_rate_limited_total Successful sign-ins refused by the per-address or per-token limit.")
	fmt.Fprintln(w, "# TYPE usagereport_signin_rate_limited_total counter")
	fmt.Fprintf(w, "usagereport_signin_rate_limited_total %d\n", m.signInLimited.Load())
	fmt.Fprintln(w, "# HELP usagereport_http_in_flight Requests being answered.")
	fmt.Fprintln(w, "# TYPE usagereport_http_in_flight gauge")
	fmt.Fprintf(w, "usagereport_http_in_flight %d\n", m.inFlight.Load())
	fmt.Fprintln(w, "# HELP usagereport_sessions Page sessions in memory.")
	fmt.Fprintln(w, "# TYPE usagereport_sessions gauge")
	fmt.Fprintf(w, "usagereport_sessions %d\n", sessions)
	fmt.Fprintln(w, "# HELP usagereport_rate_limited_addresses Client addresses the rate limiter remembers.")
	fmt.Fprintln(w, "# TYPE usagereport_rate_limited_addresses gauge")
	fmt.Fprintf(w, "usagereport_rate_limited_addresses %d\n", limited)
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
