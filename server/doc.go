// Package server is the HTTP server through which employers download their
// own monthly reports: a JSON API for programs, a plain server-rendered
// page for people, /healthz; and /metrics on a separate address of its own
// (Config.MetricsAddr), never on the public one.
//
// It never serves a file it did not name itself. The organisation comes
// from the access token (or the session the token was exchanged for), the
// month and format from a strict parse of the request; the path is then
// built by export.Path from those parsed values and opened through an
// os.Root on the reports folder, which refuses anything outside it,
// symbolic links included. Request text never becomes part of a path, and
// a request path that is not clean (dot segments, escaped slashes, bytes
// outside [A-Za-z0-9./_-], over-long) is refused before routing.
//
// Another organisation's report and a month that does not exist answer the
// same 404 with the same body, so nobody can learn which organisations or
// months exist. Failed authentications are rate limited per client address,
// successful sign-ins per address and per token, and all of them are
// written to the audit log with every download.
//
// It serves an organisation only while the registry has it and its
// agreement has not ended more than the retention period ago: the registry
// is read on every request, so removing an organisation shuts out its
// tokens and sessions at once, even where a token was not revoked. One
// organisation's sign-ins never end another's session. Reports and
// listings are sent with Cache-Control: no-store.
//
//	srv, err := server.New(server.Config{Addr: "127.0.0.1:8080", Reports: dir}, store, store, store)
//	if err := srv.Start(ctx); err != nil { ... }
//	<-ctx.Done()
//	srv.Shutdown(context.WithoutCancel(ctx)) // lets downloads in flight finish
package server
