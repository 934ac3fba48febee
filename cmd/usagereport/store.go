package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	ur "usagereport"
	"usagereport/embedded"

	"github.com/jackc/pgx/v5"
)

// Environment variables of every command that opens a store.
const (
	// envKey holds the pseudonym key, hex encoded (at least 32 bytes).
	envKey = "USAGEREPORT_PSEUDONYM_KEY"
)

// openStore opens the existing store named by spec: a postgres:// URL, or
// a folder for the embedded store. A missing store is refused, never
// created: a mistyped --store must not make an empty store and report
// nothing from it. Only ingest and init create one (createStore).
func openStore(ctx context.Context, e *Env, spec string) (ur.Backend, error) {
	return openStoreMode(ctx, e, spec, false)
}

// withStore runs fn with the existing store named by spec (see
// openStore), and closes it after.
func withStore(ctx context.Context, e *Env, spec string, fn func(st ur.Backend) error) error {
	st, err := openStore(ctx, e, spec)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// storeFlag registers --store: the store a command works on.
func storeFlag(flags *flag.FlagSet) *string {
	return flags.String("store", "", "the store: a folder (embedded) or a postgres:// URL")
}

// createStore opens the store named by spec, creating it when missing.
func createStore(ctx context.Context, e *Env, spec string) (ur.Backend, error) {
	return openStoreMode(ctx, e, spec, true)
}

// errNoStore is a store that does not exist where --store points.
type errNoStore struct{ spec string }

func (e errNoStore) Error() string { return fmt.Sprintf("no store at %s (ingest creates one)", e.spec) }

func openStoreMode(ctx context.Context, e *Env, spec string, create bool) (ur.Backend, error) {
	if spec == "" {
		return nil, usagef("--store is required (a folder, or a postgres:// URL)")
	}
	if isPostgres(spec) {
		if !create {
			ok, err := postgresHasStore(ctx, spec)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, errNoStore{redactURL(spec)}
			}
		}
		return openPostgres(ctx, e, spec)
	}
	if !create {
		if _, err := os.Stat(filepath.Join(spec, embeddedMarker)); errors.Is(err, fs.ErrNotExist) {
			return nil, errNoStore{spec}
		}
	}
	s, err := embedded.Open(ctx, spec, e.Logger)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// embeddedMarker is the file every embedded store folder holds (its format
// line), and nothing else does.
const embeddedMarker = "FORMAT"

func isPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// redactURL is a PostgreSQL URL fit for a message: without its password.
func redactURL(spec string) string {
	u, err := url.Parse(spec)
	if err != nil {
		return "the PostgreSQL URL given"
	}
	return u.Redacted()
}

// runInit is `usagereport init`: it creates an empty store, so that the
// registry and tokens can be set up before the first ingest.
func runInit(ctx context.Context, e *Env, args []string) error {
	fs := newFlagSet(e, "init", "--store DIR|URL")
	storeSpec := fs.String("store", "", "the store to create: a folder (embedded) or a postgres:// URL")
	if err := parseFlagsNoArgs(fs, args); err != nil {
		return err
	}
	name := *storeSpec
	if isPostgres(name) {
		name = redactURL(name)
	}
	st, err := openStore(ctx, e, *storeSpec)
	if err == nil {
		fmt.Fprintf(e.Stdout, "a store is at %s already; nothing changed\n", name)
		return st.Close()
	}
	if !errors.As(err, new(errNoStore)) {
		return err
	}
	if st, err = createStore(ctx, e, *storeSpec); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "created an empty store at %s\n", name)
	return st.Close()
}

// postgresHasStore tells whether the database at spec holds a store (its
// schema_migrations table), without changing anything: commands other
// than ingest and init do not run the migrations on an empty database.
func postgresHasStore(ctx context.Context, spec string) (bool, error) {
	cfg, err := pgx.ParseConfig(spec)
	if err != nil {
		// pgx's parse errors quote the URL, password included.
		return false, errors.New("open PostgreSQL store: the URL cannot be parsed as a PostgreSQL connection string")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("open PostgreSQL store: connect to %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&ok); err != nil {
		return false, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	return ok, nil
}

// pseudonymKey returns the key for subscriber pseudonyms: from --key-file,
// else from the environment, else the store's own.
func pseudonymKey(ctx context.Context, e *Env, s ur.Store, keyFile string) ([]byte, error) {
	var key []byte
	switch {
	case keyFile != "":
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("read pseudonym key file: %w", err)
		}
		key, err = decodeKey(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("pseudonym key file %s: %w", keyFile, err)
		}
	case e.Getenv(envKey) != "":
		var err error
		key, err = decodeKey(strings.TrimSpace(e.Getenv(envKey)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envKey, err)
		}
	default:
		return s.PseudonymKey(ctx)
	}
	return key, nil
}

func decodeKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the key must be hex encoded")
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("the key must be at least 32 bytes (64 hex digits), got %d", len(key))
	}
	return key, nil
}
