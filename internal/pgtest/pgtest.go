package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable with a server to use instead of a
// throwaway cluster.
const EnvURL = "USAGEREPORT_TEST_DATABASE_URL"

// shared is the one throwaway cluster of this test process. A package
// variable, against the project's habit, because its life is the process's:
// it is started by the first URL call and stopped by Main.
var shared struct {
	once    sync.Once
	cluster *Cluster
	err     error
}

// Main runs the tests and then stops the shared cluster, if one was started.
// Call it from TestMain. When the tests passed it then runs checks (such
// as leakcheck.Check) in turn, and fails the run on the first error.
func Main(m *testing.M, checks ...func() error) {
	code := m.Run()
	if shared.cluster != nil {
		if err := shared.cluster.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop cluster: %v\n", err)
		}
	}
	for _, check := range checks {
		if code != 0 {
			break
		}
		if err := check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// server returns the URL of a database on the server the tests use, to
// connect to for CREATE DATABASE.
func server(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	shared.once.Do(func() { shared.cluster, shared.err = StartCluster() })
	if shared.err != nil {
		tb.Fatalf("pgtest: no PostgreSQL for the tests (never skipped): %v", shared.err)
	}
	return shared.cluster.URL("postgres")
}

// URL creates an empty database for this test and returns its URL. The
// database is dropped when the test ends (with FORCE: connections the test
// left open are ended).
func URL(tb testing.TB) string {
	tb.Helper()
	return Database(tb, server(tb))
}

// Database creates an empty database on the server that admin (a URL with
// the right to CREATE DATABASE) points at, dropped when the test ends, and
// returns its URL. For a package whose TestMain is not Main, with a
// cluster of its own:
//
//	admin := os.Getenv(pgtest.EnvURL)
//	if admin == "" {
//		admin = pgtest.NewCluster(t).URL("postgres")
//	}
//	url := pgtest.Database(t, admin)
func Database(tb testing.TB, admin string) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "urtest_" + hex.EncodeToString(b[:])
	execSQL(tb, admin, "CREATE DATABASE "+name)
	tb.Cleanup(func() {
		execSQL(tb, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("pgtest: %s is not a URL: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewCluster starts a cluster for this test alone, for tests that stop or
// restart the server; it is removed when the test ends.
func NewCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := StartCluster()
	if err != nil {
		tb.Fatalf("pgtest: cannot start a PostgreSQL cluster (never skipped): %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func execSQL(tb testing.TB, dsn, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("pgtest: connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("pgtest: %s: %v", strings.Fields(sql)[0]+" "+strings.Fields(sql)[1], err)
	}
}
