// Package pgtest gives tests a real PostgreSQL database of their own.
//
// URL returns the address of a fresh, empty database, dropped when the test
// ends. Where the databases live:
//
//   - If USAGEREPORT_TEST_DATABASE_URL is set, on that server: the URL must
//     name a role that may CREATE DATABASE.
//   - Otherwise in one throwaway cluster per test process: initdb and
//     postgres from PATH or /usr/lib/postgresql/*/bin, in a temp dir, on a
//     free loopback port, with fsync off. Main stops it when the tests end.
//
// It never mocks and never skips: without a server or its binaries, the
// test fails with a message saying how to get them (scripts/ensure-postgres).
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		s, err := postgres.Open(ctx, pgtest.URL(t), logger)
//		...
//	}
//
// NewCluster starts a cluster of the test's own, for tests that restart or
// stop the server.
package pgtest
