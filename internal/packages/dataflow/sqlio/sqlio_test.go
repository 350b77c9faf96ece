package sqlio_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
	"github.com/scaleout/scaleout/internal/packages/dataflow/sqlio"
	"github.com/scaleout/scaleout/internal/testkit/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// server is one kind of real server the components are tested on.
type server struct {
	kind connection.Kind
	get  func(testing.TB) dbtest.Database
	ph   string // the first placeholder
	// ddl are the column types used by the tests.
	bigint, double, boolean, ts, bytes, text string
	// series selects n rows numbered 1..n as column n.
	series func(n int) string
}

var servers = []server{
	{kind: connection.Postgres, get: dbtest.Postgres, ph: "$1",
		bigint: "bigint", double: "double precision", boolean: "boolean", ts: "timestamp", bytes: "bytea", text: "text",
		series: func(n int) string { return fmt.Sprintf("SELECT g AS n FROM generate_series(1, %d) AS g", n) }},
	{kind: connection.MySQL, get: dbtest.MariaDB, ph: "?",
		bigint: "bigint", double: "double", boolean: "boolean", ts: "datetime(6)", bytes: "blob", text: "varchar(200)",
		series: func(n int) string { return fmt.Sprintf("SELECT seq AS n FROM seq_1_to_%d", n) }},
}

// each runs test on a fresh database of every server, as connection "db".
func each(t *testing.T, test func(t *testing.T, s server, env dataflow.Env, db *sql.DB)) {
	t.Helper()
	for _, s := range servers {
		t.Run(string(s.kind), func(t *testing.T) {
			t.Parallel()
			d := s.get(t)
			c := connection.Connection{Name: "db", Kind: s.kind, Host: d.Host, Port: d.Port, Database: d.Name, User: d.User,
				Password: connection.Secret(d.Password)}
			if s.kind == connection.Postgres {
				c.Options = map[string]string{"sslmode": "disable"}
			}
			set, err := connection.NewSet([]connection.Connection{c}, connection.Limits{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = set.Close() })
			test(t, s, dataflow.Env{Connections: set, Dir: t.TempDir()}, d.Open(t))
		})
	}
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := db.ExecContext(t.Context(), s)
		require.NoError(t, err, s)
	}
}

func use() dataflowtest.Option { return dataflowtest.Use(sqlio.Register) }

func TestSourceTakesTheServersTypes(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		exec(t, db, fmt.Sprintf(`CREATE TABLE items (id integer PRIMARY KEY, big %s, small smallint, price %s, ok %s,
			day date, at %s, amount numeric(10,2), name %s, data %s)`, s.bigint, s.double, s.boolean, s.ts, s.text, s.bytes),
			`INSERT INTO items VALUES (1, 9000000000, 7, 1.5, true, '2024-02-03', '2024-02-03 04:05:06.5', 12.34, 'one', 'ab')`,
			`INSERT INTO items (id) VALUES (2)`,
			`INSERT INTO items (id, name) VALUES (3, 'three')`)
		res := dataflowtest.MustRun(t, `
components:
  - name: read
    type: sql_source
    settings: {connection: db, query: "SELECT * FROM items WHERE id < `+s.ph+` ORDER BY id", params: [3]}
  - {name: out, type: collect, input: read}
`, use(), dataflowtest.WithEnv(env))
		c := res.Collected("out")
		types := map[string]string{}
		for _, f := range c.Schema().Fields() {
			types[f.Name] = dataflow.TypeName(f.Type)
		}
		assert.Equal(t, map[string]string{"id": "int32", "big": "int64", "small": "int16", "price": "float64",
			"day": "date", "at": "timestamp", "amount": "string", "name": "string", "data": "binary",
			"ok": map[connection.Kind]string{connection.Postgres: "bool", connection.MySQL: "int16"}[s.kind]}, types)
		rows := c.Maps()
		require.Len(t, rows, 2, "params bound: id < 3")
		assert.Equal(t, int64(9000000000), rows[0]["big"])
		assert.Equal(t, 1.5, rows[0]["price"])
		assert.Equal(t, "12.34", rows[0]["amount"], "numeric keeps its digits as text")
		assert.Equal(t, time.Date(2024, 2, 3, 4, 5, 6, 500000000, time.UTC), rows[0]["at"])
		assert.Equal(t, time.Date(2024, 2, 3, 0, 0, 0, 0, time.UTC), rows[0]["day"])
		assert.Equal(t, []byte("ab"), rows[0]["data"])
		assert.Equal(t, "one", rows[0]["name"])
		for _, k := range []string{"big", "price", "ok", "day", "at", "amount", "name", "data"} {
			assert.Nil(t, rows[1][k], k)
		}
	})
}

func TestSourceDeclaredColumnsRejectBadValues(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		exec(t, db, "CREATE TABLE raw (id integer, v "+s.text+")",
			"INSERT INTO raw VALUES (1, '10'), (2, 'ten'), (3, '30'), (4, '99999999999')")
		res := dataflowtest.MustRun(t, `
components:
  - name: read
    type: sql_source
    on_error: redirect
    settings:
      connection: db
      query: SELECT id, v FROM raw ORDER BY id
      columns: [{name: id, type: int64}, {name: v, type: int32}]
  - {name: out, type: collect, input: read}
  - {name: bad, type: collect, input: read.error}
`, use(), dataflowtest.WithEnv(env))
		assert.Equal(t, []any{int64(10), int64(30)}, res.Collected("out").Column("v"))
		bad := res.Collected("bad").Maps()
		require.Len(t, bad, 2)
		assert.Equal(t, "ten", bad[0]["v"])
		assert.Contains(t, bad[0][dataflow.ErrorReasonColumn], "row 2:")
		assert.Equal(t, "99999999999", bad[1]["v"])
		assert.Contains(t, bad[1][dataflow.ErrorReasonColumn], `row 4: column "v": 99999999999 is out of the range of int32`)
	})
}

func TestQueryToTableInManyBatches(t *testing.T) {
	t.Parallel()
	const rows = 30_000
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		exec(t, db, "CREATE TABLE copy_to (n bigint PRIMARY KEY, label "+s.text+", half "+s.double+", at "+s.ts+")")
		query := "SELECT n, CONCAT('row-', n) AS label, n / 2.0 AS half, TIMESTAMP '2024-01-01 00:00:00' AS at FROM (" +
			s.series(rows) + ") AS s"
		res := dataflowtest.MustRun(t, `
batch_rows: 1000
components:
  - name: read
    type: sql_source
    settings:
      connection: db
      query: "`+query+`"
      columns: [{name: n, type: int64}, {name: label, type: string}, {name: half, type: float64}, {name: at, type: timestamp}]
  - {name: write, type: sql_destination, input: read, settings: {connection: db, table: copy_to}}
`, use(), dataflowtest.WithEnv(env))
		assert.EqualValues(t, rows, res.Output["rows_written"])
		var n, sum int64
		var label string
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT COUNT(*), SUM(n) FROM copy_to").Scan(&n, &sum))
		assert.Equal(t, int64(rows), n)
		assert.Equal(t, int64(rows*(rows+1)/2), sum)
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT label FROM copy_to WHERE n = 777").Scan(&label))
		assert.Equal(t, "row-777", label)
	})
}

func TestDestinationRedirectsRowsTheDatabaseRefuses(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		exec(t, db, "CREATE TABLE target (id integer PRIMARY KEY, qty integer NOT NULL CHECK (qty >= 0), note "+s.text+")",
			"INSERT INTO target VALUES (100, 1, 'there before')")
		res := dataflowtest.MustRun(t, `
batch_rows: 3
components:
  - name: v
    type: values
    settings:
      columns: [{name: id, type: int64}, {name: amount, type: int64}, {name: note, type: string}]
      rows: [[1, 5, a], [2, -1, b], [3, 7, c], [100, 1, dup], [4, null, e], [5, 9, f], [6, 0, g]]
  - name: write
    type: sql_destination
    input: v
    on_error: redirect
    settings: {connection: db, table: target, columns: {id: id, qty: amount, note: note}}
  - {name: bad, type: collect, input: write.error}
`, use(), dataflowtest.WithEnv(env))
		bad := res.Collected("bad").Maps()
		require.Len(t, bad, 3)
		assert.Equal(t, []any{int64(2), int64(100), int64(4)}, res.Collected("bad").Column("id"))
		assert.Equal(t, "write", bad[0][dataflow.ErrorComponentColumn])
		reasons := fmt.Sprint(bad[0][dataflow.ErrorReasonColumn], " | ", bad[1][dataflow.ErrorReasonColumn], " | ", bad[2][dataflow.ErrorReasonColumn])
		switch s.kind {
		case connection.Postgres:
			assert.Contains(t, reasons, "violates check constraint")
			assert.Contains(t, reasons, "duplicate key value violates unique constraint")
			assert.Contains(t, reasons, "Key (id)=(100) already exists")
			assert.Contains(t, reasons, `null value in column "qty"`)
		default:
			assert.Contains(t, reasons, "CONSTRAINT")
			assert.Contains(t, reasons, "Duplicate entry '100'")
			assert.Contains(t, reasons, "'qty' cannot be null")
		}
		var ids []int64
		rows, err := db.QueryContext(t.Context(), "SELECT id FROM target ORDER BY id")
		require.NoError(t, err)
		for rows.Next() {
			var id int64
			require.NoError(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		require.NoError(t, rows.Err())
		assert.Equal(t, []int64{1, 3, 5, 6, 100}, ids, "every good row written once")
	})
}

func TestDestinationFailsWithTheServersMessage(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		exec(t, db, "CREATE TABLE strict (id integer PRIMARY KEY)")
		res := dataflowtest.Run(t, `
batch_rows: 2
components:
  - {name: v, type: values, settings: {columns: [{name: id, type: int64}], rows: [[1], [2], [3], [2], [5]]}}
  - {name: write, type: sql_destination, input: v, settings: {connection: db, table: strict}}
`, use(), dataflowtest.WithEnv(env))
		require.Error(t, res.Err)
		assert.Contains(t, res.Err.Error(), `component "write" (sql_destination): writing into table strict:`)
		if s.kind == connection.Postgres {
			assert.Contains(t, res.Err.Error(), "Key (id)=(2) already exists")
			var n int
			require.NoError(t, db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM strict").Scan(&n))
			assert.Zero(t, n, "one COPY: all rows or none")
		} else {
			assert.Contains(t, res.Err.Error(), "Duplicate entry '2'")
		}
	})
}

func TestDestinationPlanErrors(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		exec(t, db, "CREATE TABLE sales (id integer, amount integer)")
		for _, tc := range []struct{ settings, want string }{
			{`{connection: db, table: nosuch}`, "the table must exist: sql_destination creates none"},
			{`{connection: db, table: sales}`, `table sales has no column "amuont": did you mean "amount"?`},
			{`{connection: db, table: sales, columns: {id: id, amount: amout}}`, `the input has no column "amout": did you mean "amuont"?`},
			{`{connection: db, table: sales, columns: {id: id, amont: amuont}}`, `table sales has no column "amont": did you mean "amount"?`},
			{`{connection: nodb, table: sales}`, `"nodb"`},
			{`{connection: db, tabel: sales}`, `did you mean "table"?`},
		} {
			res := dataflowtest.Run(t, `
components:
  - {name: v, type: values, settings: {columns: [{name: id, type: int64}, {name: amuont, type: int64}], rows: [[1, 2]]}}
  - {name: write, type: sql_destination, input: v, settings: `+tc.settings+`}
`, use(), dataflowtest.WithEnv(env))
			if assert.Error(t, res.Err, tc.settings) {
				assert.Contains(t, res.Err.Error(), tc.want, tc.settings)
			}
		}
	})
}

func TestStopMidFlowEndsTheCopy(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		exec(t, db, "CREATE TABLE endless (id bigint, s "+s.text+")")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		time.AfterFunc(500*time.Millisecond, cancel)
		start := time.Now()
		res := dataflowtest.Run(t, `
batch_rows: 500
components:
  - {name: v, type: values, settings: {columns: [{name: id, type: int64}, {name: s, type: string}], rows: [[1, a], [2, b]], repeat: -1}}
  - {name: write, type: sql_destination, input: v, settings: {connection: db, table: endless}}
`, use(), dataflowtest.WithEnv(env), dataflowtest.WithContext(ctx))
		require.ErrorIs(t, res.Err, context.Canceled)
		assert.Less(t, time.Since(start), 15*time.Second, "a stop ends the flow promptly")
		if s.kind == connection.Postgres {
			var n int
			require.NoError(t, db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM endless").Scan(&n))
			assert.Zero(t, n, "the stopped COPY keeps nothing")
			require.Eventually(t, func() bool {
				var active int
				err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'copy%' AND state = 'active' AND pid <> pg_backend_pid()").Scan(&active)
				return err == nil && active == 0
			}, 10*time.Second, 50*time.Millisecond, "no COPY left running on the server")
		}
	})
}

func TestSourceStopsWhenTheFlowStops(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		res := dataflowtest.Run(t, `
batch_rows: 100
components:
  - {name: read, type: sql_source, settings: {connection: db, query: "`+s.series(2_000_000)+`"}}
  - {name: out, type: collect, input: read, settings: {keep: false, fail_after: 1000}}
`, use(), dataflowtest.WithEnv(env))
		require.Error(t, res.Err)
		assert.Contains(t, res.Err.Error(), "fail_after")
		assert.Less(t, res.Collected("out").Count(), int64(2_000_000))
	})
}

func TestSourceSchemaErrors(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		res := dataflowtest.Run(t, `
components:
  - {name: read, type: sql_source, settings: {connection: db, query: "SELECT nosuch FROM nowhere"}}
  - {name: out, type: collect, input: read}
`, use(), dataflowtest.WithEnv(env))
		require.Error(t, res.Err)
		assert.Contains(t, strings.ToLower(res.Err.Error()), "nowhere")
		err := dataflowtest.Check(t, `
components:
  - {name: read, type: sql_source, settings: {connection: db, qeury: "SELECT 1"}}
  - {name: out, type: collect, input: read}
`, use())
		require.Error(t, err)
		assert.Contains(t, err.Error(), `did you mean "query"?`)
		assert.Contains(t, err.Error(), "settings.query: required")
	})
}

func TestDestinationConvertsToTheColumnsTypes(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		exec(t, db, "CREATE TABLE conv (code "+s.text+", amount numeric(12,2), at "+s.ts+", n integer, f real)")
		dataflowtest.MustRun(t, `
components:
  - name: v
    type: values
    settings:
      columns: [{name: code, type: int64}, {name: amount, type: float64}, {name: at, type: date}, {name: n, type: int16}, {name: f, type: float64}]
      rows: [[42, 12.5, "2024-03-04", 7, 0.5], [null, null, null, null, null]]
  - {name: write, type: sql_destination, input: v, settings: {connection: db, table: conv}}
`, use(), dataflowtest.WithEnv(env))
		var code, amount sql.NullString
		var at sql.NullTime
		var n sql.NullInt64
		var f sql.NullFloat64
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT code, amount, at, n, f FROM conv WHERE code IS NOT NULL").Scan(&code, &amount, &at, &n, &f))
		assert.Equal(t, "42", code.String, "an integer into a text column")
		assert.Equal(t, "12.50", amount.String)
		assert.Equal(t, time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC), at.Time.UTC())
		assert.Equal(t, int64(7), n.Int64)
		assert.InDelta(t, 0.5, f.Float64, 1e-9)
		var nulls int
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM conv WHERE code IS NULL AND amount IS NULL AND at IS NULL").Scan(&nulls))
		assert.Equal(t, 1, nulls)
	})
}

func TestDestinationRejectsTextTheColumnCannotTake(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s server, env dataflow.Env, db *sql.DB) {
		exec(t, db, "CREATE TABLE c2 (n integer, day date)")
		res := dataflowtest.MustRun(t, `
components:
  - {name: v, type: values, settings: {columns: [{name: n, type: string}, {name: day, type: string}], rows: [["5", "2024-01-02"], ["x", "2024-01-03"], ["6", "2024-01-04"]]}}
  - {name: write, type: sql_destination, input: v, on_error: redirect, settings: {connection: db, table: c2}}
  - {name: bad, type: collect, input: write.error}
`, use(), dataflowtest.WithEnv(env))
		bad := res.Collected("bad").Maps()
		require.Len(t, bad, 1)
		assert.Equal(t, "x", bad[0]["n"])
		want := map[connection.Kind]string{connection.Postgres: `column "n": "x" is not an integer`, connection.MySQL: "Incorrect integer value: 'x'"}[s.kind]
		assert.Contains(t, bad[0][dataflow.ErrorReasonColumn], want)
		var n, sum int
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT COUNT(*), SUM(n) FROM c2").Scan(&n, &sum))
		assert.Equal(t, 2, n)
		assert.Equal(t, 11, sum)
	})
}
