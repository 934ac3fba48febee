package main

import (
	"context"
	"fmt"

	"usagereport/server"
)

func runServe(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "serve", "--store DIR|URL --reports DIR [--addr HOST:PORT] [--metrics-addr HOST:PORT] [--tls-cert FILE --tls-key FILE]")
	storeSpec := fs.String("store", "", "the store with the tokens and the audit log: a folder (embedded) or a postgres:// URL")
	cfg := server.Config{}
	fs.StringVar(&cfg.Reports, "reports", "", "the reports folder the report command wrote (OUT/<org>/<org>-<YYYY-MM>.<ext>)")
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key the server speaks only HTTPS")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "TLS private key (PEM)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "a separate address for /metrics, e.g. 127.0.0.1:9090; default none (never on --addr)")
	fs.DurationVar(&cfg.SessionTTL, "session-ttl", server.DefaultSessionTTL, "how long a sign-in on the page lasts")
	grace := fs.Duration("shutdown-timeout", maxShutdownTimeout, fmt.Sprintf("on SIGTERM or SIGINT, how long downloads in flight may take to finish (at most %v)", maxShutdownTimeout))
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	if *grace < 0 || *grace > maxShutdownTimeout {
		return usagef("--shutdown-timeout: at most %v, since every command stops within %v of a signal", maxShutdownTimeout, stopGrace)
	}
	// An organisation is served until purge would delete its records.
	cfg.AgreementGrace = orgGraceMonths
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	cfg.Now, cfg.Logger = e.Now, e.Logger
	st, err := openStore(ctx, e, *storeSpec)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := server.New(cfg, st, st, st)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	// The configuration as it runs: it holds file names, no secret.
	fmt.Fprintf(e.Stderr, "usagereport serve: listening on %s://%s (reports %s, session %v, TLS %v)\n",
		scheme, srv.Addr(), cfg.Reports, cfg.SessionTTL, cfg.TLSCert != "")
	if a := srv.MetricsAddr(); a != "" {
		fmt.Fprintf(e.Stderr, "usagereport serve: metrics on http://%s/metrics\n", a)
	}
	<-ctx.Done()
	fmt.Fprintf(e.Stderr, "usagereport serve: shutting down; waiting up to %v for downloads in flight\n", *grace)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
