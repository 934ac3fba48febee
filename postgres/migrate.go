package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Advisory lock keys (pg_advisory_lock's bigint space is shared by every
// application on the database, hence the large, arbitrary values).
const (
	lockMigrate    int64 = 0x75727265_70000001 // "urre" + 1: schema migrations
	lockPartitions int64 = 0x75727265_70000002 // creating month partitions
	lockLedger     int64 = 0x75727265_70000004 // handing out ledger sequences
)

type migration struct {
	version int
	name    string
	sql     string
}

// migrations reads the embedded files NNNN_name.sql in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, n := range names {
		base := path.Base(n)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name does not start with a version number", base)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

// migrate applies the migrations the database lacks, each in its own
// transaction together with its schema_migrations row.
//
// It is a small runner rather than a library (golang-migrate, goose, tern)
// because what we need is twenty lines and a lock: the whole run holds a
// session-level pg_advisory_lock, so two instances starting at once apply
// each migration exactly once. The second waits, then finds every version
// recorded and does nothing. Without the lock both would read "version 1
// missing" and race, and even CREATE TABLE IF NOT EXISTS can fail under a
// race (a unique violation in pg_type). The lock is taken before
// schema_migrations itself is created for the same reason. A library would
// add a module and its own locking conventions for no gain here.
func migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (err error) {
	ms, err := migrations()
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockMigrate); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		// A session lock outlives a failed statement; release it, or drop the
		// connection so the server releases it.
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockMigrate); uerr != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return err
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return err
	}
	newest := 0
	for _, v := range vs {
		applied[int(v)] = true
		newest = max(newest, int(v))
	}
	if last := ms[len(ms)-1].version; newest > last {
		return fmt.Errorf("the database has schema version %d, newer than this program's %d: use a newer usagereport", newest, last)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
		logger.Info("applied migration", slog.String(attrMigration, m.name))
	}
	return nil
}
