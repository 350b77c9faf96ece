package connection_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// server is what the tests below need of one kind of real server.
type server struct {
	kind connection.Kind
	get  func(testing.TB) dbtest.Database
	// createUser makes a login that may use the database, with password.
	createUser func(ctx context.Context, admin *sql.DB, db dbtest.Database, user, password string) error
	// sessions counts the server's sessions of user.
	sessions string
	// What the server reports of badStatement's syntax error.
	syntaxCode   string
	syntaxLine   int
	syntaxColumn int
	badLogin     string // the code of a wrong password
}

// badStatement has a syntax error on its third line, at its seventh
// character.
const badStatement = "SELECT 1\nFROM nowhere\nWHERE = 1"

var servers = []server{
	{
		kind: connection.Postgres, get: dbtest.Postgres,
		createUser: func(ctx context.Context, admin *sql.DB, _ dbtest.Database, user, password string) error {
			// standard_conforming_strings: only the quote is special.
			_, err := admin.ExecContext(ctx, `CREATE ROLE "`+user+`" LOGIN PASSWORD '`+strings.ReplaceAll(password, `'`, `''`)+`'`)
			return err
		},
		sessions:   "SELECT count(*) FROM pg_stat_activity WHERE usename = $1",
		syntaxCode: "42601", syntaxLine: 3, syntaxColumn: 7,
		badLogin: "28P01",
	},
	{
		kind: connection.MySQL, get: dbtest.MariaDB,
		createUser: func(ctx context.Context, admin *sql.DB, db dbtest.Database, user, password string) error {
			lit := strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(password)
			if _, err := admin.ExecContext(ctx, "CREATE USER '"+user+"'@'%' IDENTIFIED BY '"+lit+"'"); err != nil {
				return err
			}
			_, err := admin.ExecContext(ctx, "GRANT ALL ON `"+db.Name+"`.* TO '"+user+"'@'%'")
			return err
		},
		sessions:   "SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = ?",
		syntaxCode: "1064", syntaxLine: 3,
		badLogin: "1045",
	},
}

// setup gives a fresh database with its own login, whose password has a
// character of every sort a DSN or a SQL literal treats specially, and the
// connection to it.
func setup(t *testing.T, s server) (connection.Connection, *sql.DB) {
	t.Helper()
	db := s.get(t)
	admin := db.Open(t)
	user := "u_" + db.Name[len("test_"):]
	if len(user) > 30 {
		user = user[:30]
	}
	require.NoError(t, s.createUser(t.Context(), admin, db, user, nastyPassword))
	c := connection.Connection{Name: "target", Kind: s.kind, Host: db.Host, Port: db.Port, Database: db.Name,
		User: user, Password: nastyPassword}
	if s.kind == connection.Postgres {
		c.Options = map[string]string{"sslmode": "disable", "application_name": "connection test"}
	}
	require.NoError(t, c.Validate())
	return c, admin
}

func TestRealServers(t *testing.T) {
	t.Parallel()
	for _, s := range servers {
		t.Run(string(s.kind), func(t *testing.T) {
			t.Parallel()

			t.Run("open and ping, with a password of special characters", func(t *testing.T) {
				t.Parallel()
				c, _ := setup(t, s)
				set, err := connection.NewSet([]connection.Connection{c}, connection.Limits{})
				require.NoError(t, err)
				defer func() { require.NoError(t, set.Close()) }()
				db, err := set.DB(t.Context(), "target")
				require.NoError(t, err)
				var one int
				require.NoError(t, db.QueryRowContext(t.Context(), "SELECT 1").Scan(&one))
				assert.Equal(t, 1, one)
				var who string
				require.NoError(t, db.QueryRowContext(t.Context(), "SELECT current_user").Scan(&who))
				assert.True(t, strings.HasPrefix(who, c.User), "logged in as %s", who)
			})

			t.Run("syntax error: message, code and line", func(t *testing.T) {
				t.Parallel()
				c, _ := setup(t, s)
				set, err := connection.NewSet([]connection.Connection{c}, connection.Limits{})
				require.NoError(t, err)
				defer func() { require.NoError(t, set.Close()) }()
				db, err := set.DB(t.Context(), "target")
				require.NoError(t, err)
				_, err = db.ExecContext(t.Context(), badStatement)
				require.Error(t, err)
				var e *connection.Error
				require.ErrorAs(t, c.MapError(err, badStatement), &e)
				t.Log(e)
				assert.Equal(t, s.syntaxCode, e.Code)
				assert.Equal(t, s.syntaxLine, e.Line)
				assert.Equal(t, s.syntaxColumn, e.Column)
				assert.NotEmpty(t, e.Message)
				assert.Contains(t, e.Error(), e.Message)
			})

			t.Run("wrong password: the server's reason, not the password", func(t *testing.T) {
				t.Parallel()
				c, _ := setup(t, s)
				c.Password = "not-" + nastyPassword
				set, err := connection.NewSet([]connection.Connection{c}, connection.Limits{})
				require.NoError(t, err)
				defer func() { require.NoError(t, set.Close()) }()
				_, err = set.DB(t.Context(), "target")
				var e *connection.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, s.badLogin, e.Code)
				assert.NotContains(t, err.Error(), "p@ss")
			})

			t.Run("a Set opens once, shares, and closes", func(t *testing.T) {
				t.Parallel()
				c, admin := setup(t, s)
				set, err := connection.NewSet([]connection.Connection{c}, connection.Limits{MaxOpenConns: 2})
				require.NoError(t, err)

				// Eight tasks at once share one pool of at most two sessions.
				var (
					wg   sync.WaitGroup
					mu   sync.Mutex
					dbs  = map[*sql.DB]bool{}
					errs []error
				)
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						db, err := set.DB(context.Background(), "target")
						if err == nil {
							_, err = db.ExecContext(context.Background(), sleepStatement(s.kind))
						}
						mu.Lock()
						defer mu.Unlock()
						dbs[db] = true
						if err != nil {
							errs = append(errs, err)
						}
					}()
				}
				wg.Wait()
				require.Empty(t, errs)
				require.Len(t, dbs, 1, "every task gets the same pool")
				var pool *sql.DB
				for db := range dbs {
					pool = db
				}
				assert.Equal(t, 2, pool.Stats().MaxOpenConnections)
				assert.LessOrEqual(t, pool.Stats().OpenConnections, 2)
				assert.Positive(t, sessions(t, s, admin, c.User))

				require.NoError(t, set.Close())
				require.ErrorContains(t, pool.PingContext(t.Context()), "database is closed")
				_, err = set.DB(t.Context(), "target")
				require.ErrorIs(t, err, connection.ErrClosed)
				// The server sees the sessions end.
				require.Eventually(t, func() bool { return sessions(t, s, admin, c.User) == 0 },
					30*time.Second, 50*time.Millisecond)
			})
		})
	}
}

func sleepStatement(k connection.Kind) string {
	if k == connection.Postgres {
		return "SELECT pg_sleep(0.05)"
	}
	return "SELECT SLEEP(0.05)"
}

// sessions counts the server's sessions of user; -1 when the count fails
// (the caller's Eventually then waits on).
func sessions(t *testing.T, s server, admin *sql.DB, user string) int {
	var n int
	if err := admin.QueryRowContext(context.Background(), s.sessions, user).Scan(&n); err != nil {
		t.Logf("counting the sessions of %s: %v", user, err)
		return -1
	}
	return n
}
