package tasktypes

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestSQLCheck(t *testing.T) {
	t.Parallel()
	runCheckCases(t, SQL{}, []checkCase{
		{"statement", obj{"connection": "db", "statement": "SELECT $1", "parameters": list(1), "result": "scalar"}, nil},
		{"statements", obj{"connection": "db", "statements": list("DELETE FROM t", obj{"statement": "INSERT INTO t VALUES ($1)", "parameters": list("x")}),
			"transaction": true, "timeout": "30s"}, nil},
		{"file", obj{"connection": "db", "file": "sql/load.sql", "parameters": list("2026-01-31"), "result": "rowset", "max_rows": float64(50)}, nil},
		{"interpolated", obj{"connection": "${params.db}", "statement": "${params.sql}", "result": "${params.mode}", "timeout": "${params.t}"}, nil},
		{"nothing", obj{}, []string{"with.connection: required", "with.statement: required: give the SQL as statement, statements (a list) or file"}},
		{"two of them", obj{"connection": "db", "statement": "SELECT 1", "file": "a.sql"},
			[]string{"with: statement and file are given: give one of statement, statements and file"}},
		{"misspelt result", obj{"connection": "db", "statement": "SELECT 1", "result": "scaler"},
			[]string{`with.result "scaler": want one of none, rows_affected, scalar, row, rowset; did you mean "scalar"?`}},
		{"misspelt setting", obj{"connection": "db", "statemen": "SELECT 1"},
			[]string{`with.statemen: unknown setting: did you mean "statement"?`, "with.statement: required"}},
		{"escaping file", obj{"connection": "db", "file": "../secrets.sql"},
			[]string{`with.file "../secrets.sql": must stay inside the run's scratch directory (no '..' out of it)`}},
		{"absolute file", obj{"connection": "db", "file": "/etc/passwd"},
			[]string{`with.file "/etc/passwd": must be relative to the run's scratch directory, not absolute`}},
		{"parameters with statements", obj{"connection": "db", "statements": list("SELECT 1"), "parameters": list(1)},
			[]string{"with.parameters: goes with statement or file"}},
		{"bad statements", obj{"connection": "db", "statements": list("", obj{"sql": "x"}, 3)}, []string{
			`with.statements[0] "": is empty`,
			`statements[1]: with.sql: unknown setting`,
			`with.statements[1].statement: required`,
			`with.statements[2] 3: want the SQL text or {statement: ..., parameters: [...]}, not a number`}},
		{"wrong types", obj{"connection": "db", "statement": "SELECT 1", "parameters": "x", "transaction": "yes", "max_rows": float64(0)}, []string{
			`with.parameters "x": want a list`, `with.transaction "yes": want true or false`, `with.max_rows 0: want a whole number from 1 to 1000000`}},
	})
}

// sqlServer is one kind of real server the sql task is tested on.
type sqlServer struct {
	kind connection.Kind
	get  func(testing.TB) dbtest.Database
	ph   func(n int) string // the n-th placeholder
	// sleep is a statement that runs for 30 s; running counts the server's
	// statements (other than the counting one) whose text holds a marker.
	sleep, running string
	syntaxCode     string
}

var sqlServers = []sqlServer{
	{
		kind: connection.Postgres, get: dbtest.Postgres, ph: func(n int) string { return fmt.Sprintf("$%d", n) },
		sleep:      "SELECT pg_sleep(30)",
		running:    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%'",
		syntaxCode: "42601",
	},
	{
		kind: connection.MySQL, get: dbtest.MariaDB, ph: func(int) string { return "?" },
		sleep:      "SELECT SLEEP(30)",
		running:    "SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND = 'Query' AND INFO LIKE CONCAT('%', ?, '%')",
		syntaxCode: "1064",
	},
}

// sqlSetup gives a fresh database on s's server, the run's connections
// holding it as "db", and the database opened apart for the test's checks.
func sqlSetup(t *testing.T, s sqlServer) (*connection.Set, *sql.DB) {
	t.Helper()
	d := s.get(t)
	c := connection.Connection{Name: "db", Kind: s.kind, Host: d.Host, Port: d.Port, Database: d.Name, User: d.User,
		Password: connection.Secret(d.Password)}
	if s.kind == connection.Postgres {
		c.Options = map[string]string{"sslmode": "disable"}
	}
	set, err := connection.NewSet([]connection.Connection{c}, connection.Limits{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Close() })
	return set, d.Open(t)
}

func runSQL(ctx context.Context, set task.Connections, dir string, with obj) (task.Output, error) {
	in, _ := input(with)
	in.Connections, in.Dir = set, dir
	return SQL{}.Run(ctx, in)
}

func eachServer(t *testing.T, test func(t *testing.T, s sqlServer, set *connection.Set, db *sql.DB)) {
	t.Helper()
	for _, s := range sqlServers {
		t.Run(string(s.kind), func(t *testing.T) {
			t.Parallel()
			set, db := sqlSetup(t, s)
			test(t, s, set, db)
		})
	}
}

func TestSQLResults(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, s sqlServer, set *connection.Set, _ *sql.DB) {
		ctx := t.Context()
		out, err := runSQL(ctx, set, "", obj{"connection": "db", "statements": list(
			"CREATE TABLE sales (id INT PRIMARY KEY, region VARCHAR(10), amount DECIMAL(10,2), ratio FLOAT, sold DATE)",
			obj{"statement": fmt.Sprintf("INSERT INTO sales VALUES (%s, %s, %s, %s, %s), (2, 'us', 20.25, 0.25, '2026-01-02'), (3, 'eu', 5.00, 1.5, NULL)",
				s.ph(1), s.ph(2), s.ph(3), s.ph(4), s.ph(5)), "parameters": list(1, "eu", 10.5, 0.5, "2026-01-01")},
		)})
		require.NoError(t, err)
		assert.Equal(t, task.Output{"rows_affected": int64(3)}, out)

		out, err = runSQL(ctx, set, "", obj{"connection": "db", "result": "rows_affected",
			"statement": "UPDATE sales SET ratio = ratio * 2 WHERE region = " + s.ph(1), "parameters": list("eu")})
		require.NoError(t, err)
		assert.Equal(t, int64(2), out["rows_affected"])

		out, err = runSQL(ctx, set, "", obj{"connection": "db", "result": "scalar", "statement": "SELECT count(*) FROM sales"})
		require.NoError(t, err)
		assert.Equal(t, 3, out["value"])

		out, err = runSQL(ctx, set, "", obj{"connection": "db", "result": "row",
			"statement": "SELECT id, region, amount, ratio, sold FROM sales WHERE id = " + s.ph(1), "parameters": list(1)})
		require.NoError(t, err)
		row := out["row"].(map[string]any)
		assert.Equal(t, 1, row["id"])
		assert.Equal(t, "eu", row["region"])
		assert.Equal(t, "10.50", row["amount"], "DECIMAL as text, no precision lost")
		assert.InDelta(t, 1.0, row["ratio"], 1e-9)
		assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), row["sold"])

		out, err = runSQL(ctx, set, "", obj{"connection": "db", "result": "rowset", "statement": "SELECT id, sold FROM sales ORDER BY id"})
		require.NoError(t, err)
		assert.Equal(t, 3, out["row_count"])
		rows := out["rows"].([]any)
		require.Len(t, rows, 3)
		assert.Equal(t, map[string]any{"id": 3, "sold": nil}, rows[2])

		out, err = runSQL(ctx, set, "", obj{"connection": "db", "result": "rowset", "statement": "SELECT id FROM sales WHERE id > 10"})
		require.NoError(t, err)
		assert.Equal(t, []any{}, out["rows"])

		_, err = runSQL(ctx, set, "", obj{"connection": "db", "result": "row", "statement": "SELECT id FROM sales WHERE id > 10"})
		require.ErrorContains(t, err, "result row: the statement returned no rows")
		require.ErrorIs(t, err, task.ErrPermanent)

		_, err = runSQL(ctx, set, "", obj{"connection": "db", "result": "rowset", "max_rows": 2, "statement": "SELECT id FROM sales"})
		require.ErrorContains(t, err, "the statement returned more than 2 rows (with.max_rows)")
	})
}

// A parameter is data, whatever it holds: the driver binds it.
func TestSQLInjectionAttemptStaysData(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, s sqlServer, set *connection.Set, db *sql.DB) {
		ctx := t.Context()
		_, err := db.ExecContext(ctx, "CREATE TABLE users (name VARCHAR(200))")
		require.NoError(t, err)
		const attack = `x'); DROP TABLE users; -- " \ ` + "`"
		_, err = runSQL(ctx, set, "", obj{"connection": "db", "statement": "INSERT INTO users VALUES (" + s.ph(1) + ")", "parameters": list(attack)})
		require.NoError(t, err)
		out, err := runSQL(ctx, set, "", obj{"connection": "db", "result": "scalar",
			"statement": "SELECT count(*) FROM users WHERE name = " + s.ph(1), "parameters": list(attack)})
		require.NoError(t, err)
		assert.Equal(t, 1, out["value"], "the table is there, the value stored as it was given")
		var name string
		require.NoError(t, db.QueryRowContext(ctx, "SELECT name FROM users").Scan(&name))
		assert.Equal(t, attack, name)
	})
}

func TestSQLTransaction(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, s sqlServer, set *connection.Set, db *sql.DB) {
		ctx := t.Context()
		_, err := db.ExecContext(ctx, "CREATE TABLE t (n INT)")
		require.NoError(t, err)
		count := func() int {
			var n int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n))
			return n
		}
		failing := list("INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (1\nFROM)")
		_, err = runSQL(ctx, set, "", obj{"connection": "db", "statements": failing, "transaction": true})
		require.ErrorContains(t, err, "statement 3 of 3: ")
		var dbErr *connection.Error
		require.ErrorAs(t, err, &dbErr)
		assert.Equal(t, s.syntaxCode, dbErr.Code)
		assert.Equal(t, 2, dbErr.Line, "the line in the statement that failed")
		assert.Equal(t, 0, count(), "rolled back")

		_, err = runSQL(ctx, set, "", obj{"connection": "db", "statements": failing})
		require.Error(t, err)
		assert.Equal(t, 2, count(), "without a transaction, what ran before stays")

		_, err = runSQL(ctx, set, "", obj{"connection": "db", "statements": failing[:2], "transaction": true})
		require.NoError(t, err)
		assert.Equal(t, 4, count(), "committed")
	})
}

func TestSQLErrors(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, s sqlServer, set *connection.Set, _ *sql.DB) {
		ctx := t.Context()
		_, err := runSQL(ctx, set, "", obj{"connection": "db", "statement": "SELECT 1\nFROM nowhere\nWHERE = 1"})
		var dbErr *connection.Error
		require.ErrorAs(t, err, &dbErr)
		assert.Equal(t, s.syntaxCode, dbErr.Code)
		assert.Equal(t, 3, dbErr.Line)
		assert.Contains(t, err.Error(), "line 3")
		assert.NotContains(t, err.Error(), "statement 1 of", "one statement is not numbered")

		_, err = runSQL(ctx, set, "", obj{"connection": "dbb", "statement": "SELECT 1"})
		require.ErrorContains(t, err, `unknown connection "dbb" (known: db); did you mean "db"?`)
		require.ErrorIs(t, err, task.ErrPermanent)

		_, err = runSQL(ctx, nil, "", obj{"connection": "db", "statement": "SELECT 1"})
		require.ErrorContains(t, err, `connection "db": the package defines no connections`)
	})
}

func TestSQLFile(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, s sqlServer, set *connection.Set, _ *sql.DB) {
		ctx := t.Context()
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "sql"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "sql", "answer.sql"), []byte("-- the answer\nSELECT 40 + "+s.ph(1)+" AS answer\n"), 0o644))
		out, err := runSQL(ctx, set, dir, obj{"connection": "db", "file": "sql/answer.sql", "parameters": list(2), "result": "scalar"})
		require.NoError(t, err)
		assert.Equal(t, 42, out["value"])

		// A link out of the directory is refused, as '..' is.
		outside := filepath.Join(t.TempDir(), "secret.sql")
		require.NoError(t, os.WriteFile(outside, []byte("SELECT 'secret'"), 0o644))
		require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link.sql")))
		_, err = runSQL(ctx, set, dir, obj{"connection": "db", "file": "link.sql", "result": "scalar"})
		require.ErrorContains(t, err, `with.file: "link.sql"`)
		require.ErrorIs(t, err, task.ErrPermanent)

		_, err = runSQL(ctx, set, dir, obj{"connection": "db", "file": "missing.sql"})
		require.ErrorContains(t, err, `with.file: "missing.sql": no such file in the run's scratch directory`)
		_, err = runSQL(ctx, set, "", obj{"connection": "db", "file": "a.sql"})
		require.ErrorContains(t, err, `the run has no scratch directory to read it from`)
	})
}

// A timeout and a stop end the statement on the server, not only in the
// client: afterwards the server runs it no more.
func TestSQLCancelStopsTheStatementOnTheServer(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"timeout", "stop"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			eachServer(t, func(t *testing.T, s sqlServer, set *connection.Set, db *sql.DB) {
				marker := fmt.Sprintf("cancel_%s_%d", how, time.Now().UnixNano())
				statement := s.sleep + " /* " + marker + " */"
				running := func() int {
					var n int
					require.NoError(t, db.QueryRowContext(t.Context(), s.running, marker).Scan(&n))
					return n
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				with := obj{"connection": "db", "statement": statement, "result": "scalar"}
				if how == "timeout" {
					with["timeout"] = "1s"
				}
				done := make(chan error, 1)
				go func() {
					_, err := runSQL(ctx, set, "", with)
					done <- err
				}()
				require.Eventually(t, func() bool { return running() == 1 }, 20*time.Second, 20*time.Millisecond,
					"the statement runs on the server")
				if how == "stop" {
					cancel()
				}
				var err error
				select {
				case err = <-done:
				case <-time.After(20 * time.Second):
					require.Fail(t, "the task did not return within 20 s of its end (the statement sleeps 30 s)")
				}
				require.Error(t, err)
				if how == "timeout" {
					assert.Contains(t, err.Error(), "timed out after 1s (with.timeout)")
				} else {
					assert.True(t, errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "stopped"), "%v", err)
				}
				// The server may take a moment to clean up the session: poll
				// briefly, well within the 30 s the statement would run.
				assert.Eventually(t, func() bool { return running() == 0 }, 3*time.Second, 20*time.Millisecond,
					"the server still runs the statement")
				// The pool still works after the cancel.
				out, err := runSQL(t.Context(), set, "", obj{"connection": "db", "statement": "SELECT 7", "result": "scalar"})
				require.NoError(t, err)
				assert.Equal(t, 7, out["value"])
			})
		})
	}
}
