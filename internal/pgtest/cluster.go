package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"usagereport/internal/flock"
)

// EnsureScript is what a missing-binaries failure tells the reader to run.
const EnsureScript = "scripts/ensure-postgres"

// Cluster is a throwaway PostgreSQL cluster in a temp dir, reachable on a
// loopback port with trust authentication for the role "postgres".
type Cluster struct {
	dir    string // holds data/, the socket and the log
	bin    string // the folder of initdb and postgres
	port   int
	cred   *syscall.Credential // nil unless we run as root
	cmd    *exec.Cmd
	exited chan struct{}
	lock   *os.File // flock held while this process owns dir
}

// StartCluster runs initdb in a new temp dir and starts postgres on it.
func StartCluster() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	removeStale()
	dir, err := os.MkdirTemp("", "usagereport-pgtest-")
	if err != nil {
		return nil, err
	}
	// Lock the file before it gets its name, so that no other process's
	// removeStale can take it in between.
	lock, err := os.OpenFile(filepath.Join(dir, ownerLock+".new"), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = flock.Lock(lock)
	}
	if err == nil {
		err = os.Rename(lock.Name(), filepath.Join(dir, ownerLock))
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("lock cluster dir: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin, lock: lock}
	if err := c.init(); err != nil {
		lock.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.Start(); err != nil {
		lock.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// ownerLock is a file in a cluster's temp dir that its test process holds
// an flock on while it lives. The kernel drops the lock when the process
// dies, however it dies, so a dir whose lock can be taken is debris.
const ownerLock = "owner.lock"

// removeStale removes the clusters of test processes that died without
// calling Main's cleanup (a test timeout panics past it): their postmaster
// is gone, stopped by Pdeathsig, but the files stay. A dir is removed only
// when its owner lock can be taken; a dir without one is another process's
// in its first instant, or very old.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "usagereport-pgtest-*"))
	for _, d := range dirs {
		f, err := os.Open(filepath.Join(d, ownerLock))
		if err != nil {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() && time.Since(fi.ModTime()) > time.Hour {
				os.RemoveAll(d)
			}
			continue
		}
		if flock.TryLock(f) == nil {
			os.RemoveAll(d)
		}
		f.Close()
	}
}

// findBin looks for initdb and postgres on PATH, then in the newest
// /usr/lib/postgresql/*/bin (Debian keeps them off PATH).
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
		if q, err := exec.LookPath("postgres"); err == nil && filepath.Dir(q) == d {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql/*/bin: "+
		"run %s (installs the Debian package postgresql), or set %s to a server's URL", EnsureScript, EnvURL)
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// init runs initdb. initdb and postgres refuse to run as root, so as root
// both run as the system user "postgres" (created if missing), which then
// owns the temp dir.
func (c *Cluster) init() error {
	if os.Geteuid() == 0 {
		cred, err := postgresUser()
		if err != nil {
			return err
		}
		c.cred = cred
		if err := os.Chown(c.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	cmd := exec.Command(filepath.Join(c.bin, "initdb"),
		"--pgdata", c.dataDir(), "--username", "postgres", "--auth", "trust",
		"--encoding", "UTF8", "--no-locale", "--no-sync")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Dir = c.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return nil
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		out, err2 := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres").CombinedOutput()
		if err2 != nil {
			return nil, fmt.Errorf("running as root, and no user postgres to run the server as: useradd: %v: %s", err2, out)
		}
		if u, err = user.Lookup("postgres"); err != nil {
			return nil, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logFile() string { return filepath.Join(c.dir, "postgres.log") }

// Start starts the server (again, after Stop) and waits until it accepts
// connections. It keeps the port of an earlier start.
func (c *Cluster) Start() error {
	if c.port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		c.port = p
	}
	logf, err := os.OpenFile(c.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(c.bin, "postgres"),
		"-D", c.dataDir(),
		"-p", strconv.Itoa(c.port),
		"-k", c.dir, // the unix socket stays in our temp dir
		"-c", "listen_addresses=127.0.0.1",
		// Durability is worthless for a throwaway cluster, speed is not.
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		"-c", "synchronous_commit=off",
		"-c", "max_connections=200",
		"-c", "max_wal_size=4GB",
		"-c", "checkpoint_timeout=30min",
		"-c", "shared_buffers=256MB",
		"-c", "max_locks_per_transaction=256", // many partitions per transaction
	)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: if the test binary dies without calling Stop, the kernel
	// asks the postmaster for a fast shutdown, so no cluster outlives it.
	// Go sets it after switching credentials, so the switch does not clear it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() { cmd.Wait(); close(c.exited) }()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited at start: %s", c.logTail())
		case <-ctx.Done():
			c.Stop()
			return fmt.Errorf("postgres did not accept connections within 60s: %v: %s", err, c.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.logFile())
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and
// waits for it. The data stays for a later Start.
func (c *Cluster) Stop() error {
	if c.cmd == nil {
		return nil
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Signal(syscall.SIGQUIT) // immediate shutdown
		<-c.exited
	}
	c.cmd = nil
	return nil
}

// Restart stops and starts the server on the same port and data.
func (c *Cluster) Restart() error {
	if err := c.Stop(); err != nil {
		return err
	}
	return c.Start()
}

// Close stops the server and deletes its files.
func (c *Cluster) Close() error {
	err := c.Stop()
	err = errors.Join(err, os.RemoveAll(c.dir))
	c.lock.Close()
	return err
}

// URL returns the address of database db as the superuser postgres.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
