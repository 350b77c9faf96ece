package tasktypes

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/engine"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/testkit/dbtest"
)

// runPackage loads a package file with the built-in types, as a worker and
// `scaleout package run` do, and runs it with the database's coordinates as
// parameters, the password a sensitive one.
func runPackage(t *testing.T, s sqlServer, d dbtest.Database, doc string) (engine.Result, []engine.Event) {
	t.Helper()
	types := NewRegistry()
	p, err := pkgfile.Load([]byte(doc), "p.yaml", types)
	require.NoError(t, err)
	plan, err := engine.Compile(p, types)
	require.NoError(t, err)
	options := ""
	if s.kind == connection.Postgres {
		options = "disable"
	}
	params, err := pkgfile.Bind(p, map[string]string{"kind": string(s.kind), "host": d.Host, "port": fmt.Sprint(d.Port),
		"database": d.Name, "user": d.User, "password": d.Password, "sslmode": options}, nil)
	require.NoError(t, err)
	sink := &engine.SliceSink{}
	res, err := engine.Run(t.Context(), plan, engine.RunOptions{Params: params, Sensitive: pkgfile.Sensitive(p, params), Sink: sink})
	require.NoError(t, err)
	return res, sink.Events()
}

const packageHead = `name: load
parameters:
  kind: {type: string}
  host: {type: string}
  port: {type: int}
  database: {type: string}
  user: {type: string}
  password: {type: string, sensitive: true}
  sslmode: {type: string}
  fail: {type: bool}
connections:
  db:
    kind: ${params.kind}
    host: ${params.host}
    port: ${params.port}
    database: ${params.database}
    user: ${params.user}
    password: ${params.password}
`

func TestSQLInAPackage(t *testing.T) {
	t.Parallel()
	for _, s := range sqlServers {
		t.Run(string(s.kind), func(t *testing.T) {
			t.Parallel()
			d := s.get(t)
			db := d.Open(t)
			_, err := db.ExecContext(t.Context(), "CREATE TABLE t (n INT, region VARCHAR(10))")
			require.NoError(t, err)
			doc := packageHead + `variables:
  total: {type: int}
  regions: {type: list}
  first: {type: string}
tasks:
  - name: fill
    type: sql
    with:
      connection: db
      statement: INSERT INTO t VALUES (1, 'eu'), (2, 'us'), (3, 'eu')
  - name: per-region
    type: sql
    after: [{task: fill}]
    with: {connection: db, result: rowset, statement: "SELECT region, sum(n) AS total FROM t GROUP BY region ORDER BY region"}
    outputs: {regions: rows}
  - name: first
    type: sql
    after: [{task: fill}]
    with: {connection: db, result: row, statement: "SELECT region, n FROM t WHERE n = ` + s.ph(1) + `", parameters: [3]}
    outputs: {first: row.region, total: row.n}
  - name: each
    type: foreach
    after: [{task: per-region}]
    items: vars.regions
    tasks:
      - name: count
        type: sql
        with: {connection: db, result: scalar, statement: "SELECT count(*) FROM t WHERE region = ` + s.ph(1) + `", parameters: ["${item.region}"]}
`
			if s.kind == connection.Postgres {
				doc = strings.Replace(doc, "    password: ${params.password}\n", "    password: ${params.password}\n    options: {sslmode: '${params.sslmode}'}\n", 1)
			}
			res, events := runPackage(t, s, d, doc)
			require.Equal(t, engine.Succeeded, res.Status, res.Error)
			assert.Equal(t, 3, res.Vars["total"])
			assert.Equal(t, "eu", res.Vars["first"])
			regions, err := json.Marshal(res.Vars["regions"])
			require.NoError(t, err)
			assert.Contains(t, []string{`[{"region":"eu","total":4},{"region":"us","total":2}]`, `[{"region":"eu","total":"4"},{"region":"us","total":"2"}]`},
				string(regions), "sum() is an int on PostgreSQL, a DECIMAL (text) on MariaDB")
			for _, e := range events {
				require.NotContains(t, e.Message, d.Password)
			}
			var counts []any
			for _, tr := range res.Tasks {
				if strings.HasPrefix(tr.Path, "each[") {
					counts = append(counts, tr.Outputs["value"])
				}
			}
			assert.Equal(t, []any{2, 1}, counts)
		})
	}
}

// A sequence's transaction: its sql tasks share it, it commits when the
// sequence succeeds and rolls back when it fails.
func TestSQLSequenceTransaction(t *testing.T) {
	t.Parallel()
	for _, s := range sqlServers {
		t.Run(string(s.kind), func(t *testing.T) {
			t.Parallel()
			d := s.get(t)
			db := d.Open(t)
			_, err := db.ExecContext(t.Context(), "CREATE TABLE t (n INT)")
			require.NoError(t, err)
			count := func(db *sql.DB) int {
				var n int
				require.NoError(t, db.QueryRowContext(t.Context(), "SELECT count(*) FROM t").Scan(&n))
				return n
			}
			doc := func(fail bool) string {
				doc := packageHead + `tasks:
  - name: load
    type: sequence
    transaction: {connection: db}
    tasks:
      - {name: one, type: sql, with: {connection: db, statement: "INSERT INTO t VALUES (1)"}}
      - {name: two, type: sql, after: [{task: one}], with: {connection: db, statement: "INSERT INTO t VALUES (2)", transaction: true}}
      - name: seen
        type: sql
        after: [{task: two}]
        with: {connection: db, result: scalar, statement: "SELECT count(*) FROM t"}
`
				if fail {
					doc += "      - {name: boom, type: fail, after: [{task: seen}], with: {message: no}}\n"
				}
				if s.kind == connection.Postgres {
					doc = strings.Replace(doc, "    password: ${params.password}\n", "    password: ${params.password}\n    options: {sslmode: '${params.sslmode}'}\n", 1)
				}
				return doc
			}
			res, _ := runPackage(t, s, d, doc(true))
			require.Equal(t, engine.Failed, res.Status)
			assert.Equal(t, "load/boom: no: permanent failure", res.Error)
			for _, tr := range res.Tasks {
				if tr.Path == "load/seen" {
					assert.Equal(t, 2, tr.Outputs["value"], "the tasks of the sequence see each other's work")
				}
			}
			assert.Equal(t, 0, count(db), "rolled back: the sequence failed")

			res, _ = runPackage(t, s, d, doc(false))
			require.Equal(t, engine.Succeeded, res.Status, res.Error)
			assert.Equal(t, 2, count(db), "committed")
		})
	}
}
