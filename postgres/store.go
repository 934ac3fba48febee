package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	ur "usagereport"
)

// Log attribute keys.
const (
	attrMigration = "migration"
	attrMonth     = "month"
	attrRows      = "rows"
	attrPartition = "partition"
)

// Store is the PostgreSQL store.
type Store struct {
	pool *pgxpool.Pool
	// ddl is a small pool of its own for creating partitions. An ingest
	// holds a connection of pool for its whole transaction and needs a
	// second one when a new month appears: from the same pool, ingests as
	// many as its size would each wait for a connection none gives back.
	ddl    *pgxpool.Pool
	logger *slog.Logger
}

var _ ur.Backend = (*Store)(nil)

// Open connects to the database at url and brings its schema up to date.
// The URL may carry a password: it never appears in an error or a log line.
func Open(ctx context.Context, url string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors quote the URL, password included: say less.
		return nil, errors.New("open PostgreSQL store: the URL cannot be parsed as a PostgreSQL connection string")
	}
	// pgxpool pings a connection idle for more than a second before handing
	// it out. A server restart can be quicker than that, and a connection
	// can be made while the server is going down: a query on it fails
	// ("terminating connection due to administrator command"). Ping every
	// connection before handing it out: the store's work comes in few,
	// large statements, so the round trip costs nothing measurable.
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return true }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open PostgreSQL store: connect to %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	if err := migrate(ctx, pool, logger); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open PostgreSQL store: migrate: %w", err)
	}
	ddlCfg := cfg.Copy()
	ddlCfg.MaxConns = 2
	ddlCfg.MinConns = 0
	ddl, err := pgxpool.NewWithConfig(ctx, ddlCfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	return &Store{pool: pool, ddl: ddl, logger: logger}, nil
}

// Close closes the connections.
func (s *Store) Close() error {
	s.ddl.Close()
	s.pool.Close()
	return nil
}

// PseudonymKey returns the key kept in the database, making a random one
// on first use, as the embedded store keeps one in its folder, so that
// both stores behave alike with no key given.
//
// The key lets anyone who has it and the records test a phone number
// against the pseudonyms, so a deployment that cares should give the key
// from a file or the environment instead: then this is never called and
// the database holds only the key's fingerprint (CheckKey).
func (s *Store) PseudonymKey(ctx context.Context) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := s.pool.Exec(ctx, "INSERT INTO pseudonym_key (key) VALUES ($1) ON CONFLICT DO NOTHING", key); err != nil {
		return nil, fmt.Errorf("pseudonym key: %w", err)
	}
	if err := s.pool.QueryRow(ctx, "SELECT key FROM pseudonym_key").Scan(&key); err != nil {
		return nil, fmt.Errorf("pseudonym key: %w", err)
	}
	return key, nil
}

// CheckKey refuses a key other than the one the stored records were
// pseudonymised with: mixing keys would count one subscriber as two. The
// first call records the fingerprint; the key itself is never stored here.
func (s *Store) CheckKey(ctx context.Context, fingerprint string) error {
	if _, err := s.pool.Exec(ctx, "INSERT INTO key_fingerprint (fingerprint) VALUES ($1) ON CONFLICT DO NOTHING", fingerprint); err != nil {
		return fmt.Errorf("check pseudonym key: %w", err)
	}
	var have string
	if err := s.pool.QueryRow(ctx, "SELECT fingerprint FROM key_fingerprint").Scan(&have); err != nil {
		return fmt.Errorf("check pseudonym key: %w", err)
	}
	if have != fingerprint {
		return fmt.Errorf("the pseudonym key (fingerprint %s) differs from the one this store's records were made with (fingerprint %s)", fingerprint, have)
	}
	return nil
}

// Files lists the ledger, oldest first.
func (s *Store) Files(ctx context.Context) ([]ur.FileMeta, error) {
	rows, err := s.pool.Query(ctx, "SELECT name, sha256, content_digest, rows, rejected, ingested_at FROM files ORDER BY ingested_at, id")
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	var out []ur.FileMeta
	var sum, content []byte
	for rows.Next() {
		var f ur.FileMeta
		if err := rows.Scan(&f.Name, &sum, &content, &f.Rows, &f.Rejected, &f.IngestedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read ledger: %w", err)
		}
		copy(f.SHA256[:], sum)
		copy(f.Content[:], content)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	return out, nil
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}
