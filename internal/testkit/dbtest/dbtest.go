package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// SkipEnv names the environment variable that, set to 1, skips every test
// that asks for a database server.
const SkipEnv = "SCALEOUT_SKIP_DATABASES"

// The kinds of server, as Database.Kind names them.
const (
	KindPostgres = "postgres"
	KindMariaDB  = "mariadb"
)

// installHint ends the error of a missing server.
const installHint = "install the servers with `bash tools/databases/install.sh` (as root, or with sudo; " +
	"`make test` runs it), or set " + SkipEnv + "=1 to skip the database tests"

// startTimeout bounds each step of a server's start (creating its data
// directory, waiting for it to accept connections): generous, because a
// loaded two-core machine can take tens of seconds.
const startTimeout = 2 * time.Minute

// Database is a fresh database on a running server, and how to reach it as
// its administrator (a superuser that may create roles and databases).
type Database struct {
	Kind     string // KindPostgres or KindMariaDB
	Driver   string // the database/sql driver's name: "pgx" or "mysql"
	Host     string // always 127.0.0.1
	Port     int
	Name     string // the database, made for this test alone
	User     string
	Password string
	// Socket is the server's Unix socket: for PostgreSQL the directory that
	// holds it (libpq's host=/dir form), for MariaDB the socket file.
	Socket string
}

// Addr is host:port.
func (d Database) Addr() string { return net.JoinHostPort(d.Host, strconv.Itoa(d.Port)) }

// DSN is the data source name for Driver: a postgres:// URL for pgx, a
// go-sql-driver/mysql DSN for MariaDB.
func (d Database) DSN() string {
	if d.Kind == KindPostgres {
		u := url.URL{
			Scheme:   "postgres",
			User:     url.UserPassword(d.User, d.Password),
			Host:     d.Addr(),
			Path:     "/" + d.Name,
			RawQuery: "sslmode=disable",
		}
		return u.String()
	}
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = d.User, d.Password, "tcp", d.Addr(), d.Name
	c.ParseTime = true
	return c.FormatDSN()
}

// Open opens the database as its administrator, and closes it when the
// test ends.
func (d Database) Open(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open(d.Driver, d.DSN())
	if err != nil {
		tb.Fatalf("dbtest: opening %s database %q: %v", d.Kind, d.Name, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// Postgres returns a fresh database on the package's PostgreSQL server,
// starting the server if it is the first to ask.
func Postgres(tb testing.TB) Database {
	tb.Helper()
	return fresh(tb, KindPostgres)
}

// MariaDB returns a fresh database on the package's MariaDB server,
// starting the server if it is the first to ask.
func MariaDB(tb testing.TB) Database {
	tb.Helper()
	return fresh(tb, KindMariaDB)
}

// Main runs a test package's tests, then stops the servers they started
// and removes their folder: use it as TestMain.
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if err := stopAll(); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
	}
	os.Exit(code)
}

var (
	mainRunning atomic.Bool
	seq         atomic.Int64

	slotsMu sync.Mutex
	slots   = map[string]*slot{}

	rootMu  sync.Mutex
	rootDir string // holds one folder per server; made on first use
)

// slot holds one kind's server, started once: a failed start is kept and
// reported to every test that asks, rather than retried by each.
type slot struct {
	mu     sync.Mutex
	server *server
	err    error
}

func fresh(tb testing.TB, kind string) Database {
	tb.Helper()
	if os.Getenv(SkipEnv) == "1" {
		tb.Skipf("%s=1: the tests that need a %s server are skipped", SkipEnv, kind)
	}
	if !mainRunning.Load() {
		tb.Fatalf("dbtest: the package's TestMain must be dbtest.Main (func TestMain(m *testing.M) { dbtest.Main(m) }), " +
			"which stops the servers when the tests end")
	}
	s, err := serverOf(kind)
	if err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	name := databaseName(tb.Name())
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+s.quote(name)); err != nil {
		tb.Fatalf("dbtest: creating %s database %q: %v", kind, name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		drop := "DROP DATABASE IF EXISTS " + s.quote(name)
		if kind == KindPostgres {
			drop += " WITH (FORCE)" // ends the connections a test left open
		}
		if _, err := s.admin.ExecContext(ctx, drop); err != nil {
			tb.Logf("dbtest: dropping %s database %q (the server goes at exit anyway): %v", kind, name, err)
		}
	})
	d := s.db
	d.Name = name
	return d
}

func serverOf(kind string) (*server, error) {
	slotsMu.Lock()
	sl := slots[kind]
	if sl == nil {
		sl = &slot{}
		slots[kind] = sl
	}
	slotsMu.Unlock()

	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.server == nil && sl.err == nil {
		sl.server, sl.err = startWithFreePort(kind)
	}
	return sl.server, sl.err
}

// databaseName makes a database name from the test's, unique in the
// process: test_<n>_<name>, lower case, within both servers' limits.
func databaseName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := fmt.Sprintf("test_%d_%s", seq.Add(1), b.String())
	if len(name) > 60 {
		name = name[:60]
	}
	return name
}

// startWithFreePort starts a server on a free port, and on another if a
// process took the port between the check and the server's bind.
func startWithFreePort(kind string) (*server, error) {
	dir, err := serverDir(kind)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		var s *server
		switch kind {
		case KindPostgres:
			s, err = startPostgres(dir, port)
		case KindMariaDB:
			s, err = startMariaDB(dir, port)
		default:
			return nil, fmt.Errorf("no server of kind %q (known: %s, %s)", kind, KindPostgres, KindMariaDB)
		}
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !isPortTaken(err) {
			break
		}
	}
	return nil, lastErr
}

// freePort asks the kernel for a loopback port nobody listens on.
func freePort() (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverDir makes the folder of one kind's server under the process's
// temporary folder.
func serverDir(kind string) (string, error) {
	rootMu.Lock()
	defer rootMu.Unlock()
	if rootDir == "" {
		d, err := os.MkdirTemp("", "scaleout-dbtest-")
		if err != nil {
			return "", fmt.Errorf("making the servers' temporary folder: %w", err)
		}
		// The servers may run as another user (see doc.go): it must reach
		// its own folder inside this one.
		if err := os.Chmod(d, 0o755); err != nil {
			return "", fmt.Errorf("making the servers' temporary folder: %w", err)
		}
		rootDir = d
	}
	dir := rootDir + "/" + kind
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("making the %s server's folder: %w", kind, err)
	}
	return dir, nil
}

// stopAll stops every server started, and removes their folder.
func stopAll() error {
	slotsMu.Lock()
	defer slotsMu.Unlock()
	var errs []string
	for _, sl := range slots {
		sl.mu.Lock()
		if sl.server != nil {
			if err := sl.server.stop(); err != nil {
				errs = append(errs, err.Error())
			}
			sl.server = nil
		}
		sl.mu.Unlock()
	}
	rootMu.Lock()
	defer rootMu.Unlock()
	if rootDir != "" {
		if err := os.RemoveAll(rootDir); err != nil {
			errs = append(errs, fmt.Sprintf("removing the servers' folder: %v", err))
		}
		rootDir = ""
	}
	if len(errs) > 0 {
		return fmt.Errorf("stopping the database servers: %s", strings.Join(errs, "; "))
	}
	return nil
}

// secret returns a random password of 32 hex digits: no character any
// DSN or SQL literal would need to escape.
func secret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails on Linux
	return hex.EncodeToString(b)
}

// Start starts a server of kind (KindPostgres or KindMariaDB) for a
// program rather than a test, such as cmd/bench, and returns a fresh
// database on it; stop stops the server and removes its folder. It honours
// neither SkipEnv nor testing.TB: the caller decides what to do without a
// server.
func Start(kind string) (db Database, stop func() error, err error) {
	s, err := serverOf(kind)
	if err != nil {
		return Database{}, nil, err
	}
	name := databaseName("program")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+s.quote(name)); err != nil {
		_ = stopAll()
		return Database{}, nil, fmt.Errorf("creating %s database %q: %w", kind, name, err)
	}
	db = s.db
	db.Name = name
	return db, stopAll, nil
}
