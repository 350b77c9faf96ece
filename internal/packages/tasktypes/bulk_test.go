package tasktypes

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/task"
)

func TestBulkInsertCheck(t *testing.T) {
	t.Parallel()
	runCheckCases(t, BulkInsert{}, []checkCase{
		{"minimal", obj{"connection": "db", "file": "in/sales.csv", "table": "sales"}, nil},
		{"everything", obj{"connection": "db", "file": "sales.csv", "table": "sales", "schema": "stage", "columns": list("id", "region"),
			"format": "csv", "delimiter": ";", "quote": "'x", "header": true, "null": "NULL", "timeout": "5m"},
			[]string{`with.quote "'x": want one ASCII character`}},
		{"tab and interpolations", obj{"connection": "${params.db}", "file": "${item.key}", "table": "${params.table}", "delimiter": "\t",
			"header": "${params.header}", "columns": list("id", "${params.col}")}, nil},
		{"nothing", obj{}, []string{"with.connection: required", "with.file: required", "with.table: required"}},
		{"misspelt", obj{"connection": "db", "file": "a.csv", "table": "t", "delimeter": ";"},
			[]string{`with.delimeter: unknown setting: did you mean "delimiter"?`}},
		{"format", obj{"connection": "db", "file": "a.csv", "table": "t", "format": "cvs"},
			[]string{`with.format "cvs": want csv (the only format); did you mean "csv"?`}},
		{"escaping file", obj{"connection": "db", "file": "../a.csv", "table": "t"},
			[]string{`with.file "../a.csv": must stay inside the run's scratch directory`}},
		{"bad characters", obj{"connection": "db", "file": "a.csv", "table": "t", "delimiter": `\`, "quote": ""}, []string{
			`with.delimiter "\\": cannot be a line break, a quote ('), a backslash or NUL`, `with.quote "": want one ASCII character`}},
		{"same delimiter and quote", obj{"connection": "db", "file": "a.csv", "table": "t", "delimiter": "|", "quote": "|"},
			[]string{`with.delimiter and with.quote: both are '|'`}},
		{"bad names", obj{"connection": "db", "file": "a.csv", "table": " ", "columns": list("a", "a", "b\x00"), "header": "yes"}, []string{
			`with.table " ": is empty`, `with.columns[1] "a": listed twice`, `with.columns[2] "b\x00": holds a NUL character`,
			`with.header "yes": want true or false`}},
	})
}

// Names are quoted by each server's rules, whatever they hold.
func TestBulkInsertStatements(t *testing.T) {
	t.Parallel()
	hostile := "t\"`]; DROP TABLE victims; --"
	cfg := bulkConfig{table: hostile, schema: "stage", columns: []string{`a"b`}, delimiter: ';', quote: '"', header: true, null: `it's \N`}
	assert.Equal(t, `COPY "stage"."t""`+"`"+`]; DROP TABLE victims; --" ("a""b") FROM STDIN WITH (FORMAT csv, DELIMITER E';', QUOTE E'"', NULL E'it\'s \\N', HEADER true)`,
		cfg.copyStatement())
	assert.Equal(t, "LOAD DATA LOCAL INFILE 'Reader::r1' INTO TABLE `stage`.`t\"``]; DROP TABLE victims; --` CHARACTER SET utf8mb4 "+
		"FIELDS TERMINATED BY ';' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\n' IGNORE 1 LINES "+
		"(@f1) SET `a\"b` = NULLIF(@f1, CONVERT(X'69742773205c4e' USING utf8mb4))", cfg.loadStatement("r1", cfg.columns))

	stmt := cfg.sqlServerCopy([]string{"id", "x]y"})
	body, ok := strings.CutPrefix(stmt, "INSERTBULK ")
	require.True(t, ok, stmt)
	var bulk struct {
		TableName   string   `json:"tablename"`
		ColumnsName []string `json:"columnsname"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &bulk))
	assert.Equal(t, "[stage].[t\"`]]; DROP TABLE victims; --]", bulk.TableName)
	assert.Equal(t, []string{"[id]", "[x]]y]"}, bulk.ColumnsName)
}

// bulkRun loads the scratch file name, holding content, with settings with.
func bulkRun(ctx context.Context, t *testing.T, set task.Connections, name, content string, with obj) (task.Output, error) {
	t.Helper()
	dir := t.TempDir()
	if name != "" {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	in, _ := input(with)
	in.Connections, in.Dir = set, dir
	return BulkInsert{}.Run(ctx, in)
}

func TestBulkInsertLoads(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, s sqlServer, set *connection.Set, db *sql.DB) {
		ctx := t.Context()
		// A table whose name would end the statement were it not quoted,
		// beside the table it names.
		hostile := "sales\"`; DROP TABLE victims; --"
		q := quotePostgres
		if s.kind == connection.MySQL {
			q = quoteMySQL
		}
		for _, stmt := range []string{
			"CREATE TABLE victims (n INT)",
			"CREATE TABLE " + q(hostile) + " (id INT, region VARCHAR(20), note VARCHAR(50), amount DECIMAL(10,2))",
		} {
			_, err := db.ExecContext(ctx, stmt)
			require.NoError(t, err)
		}
		csv := "id,region,note,amount\n1,eu,\"a, quoted \"\"note\"\"\",10.50\n2,us,,20\n3,eu,plain,\n"
		out, err := bulkRun(ctx, t, set, "in/sales.csv", csv, obj{"connection": "db", "file": "in/sales.csv", "table": hostile, "header": true})
		require.NoError(t, err)
		assert.Equal(t, task.Output{"rows": 3}, out)

		type row struct {
			id           int
			region       string
			note, amount sql.NullString
		}
		read := func() []row {
			rs, err := db.QueryContext(ctx, "SELECT id, region, note, amount FROM "+q(hostile)+" ORDER BY id")
			require.NoError(t, err)
			defer rs.Close() //nolint:errcheck // read only
			var all []row
			for rs.Next() {
				var r row
				require.NoError(t, rs.Scan(&r.id, &r.region, &r.note, &r.amount))
				all = append(all, r)
			}
			require.NoError(t, rs.Err())
			return all
		}
		got := read()
		require.Len(t, got, 3)
		assert.Equal(t, `a, quoted "note"`, got[0].note.String)
		assert.Equal(t, "10.50", got[0].amount.String)
		assert.False(t, got[1].note.Valid, "an empty field is NULL by default")
		assert.False(t, got[2].amount.Valid)
		var victims int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM victims").Scan(&victims), "the other table is there")

		// Some columns, another delimiter and null text, no header.
		out, err = bulkRun(ctx, t, set, "more.txt", "eu;7\nNULL;8\n", obj{"connection": "db", "file": "more.txt", "table": hostile,
			"columns": list("region", "id"), "delimiter": ";", "null": "NULL"})
		require.NoError(t, err)
		assert.Equal(t, task.Output{"rows": 2}, out)
		var nulls int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM "+q(hostile)+" WHERE id IN (7, 8) AND region IS NULL").Scan(&nulls))
		assert.Equal(t, 1, nulls)

		// A missing file, an unknown table (with the server's message).
		_, err = bulkRun(ctx, t, set, "", "", obj{"connection": "db", "file": "nope.csv", "table": hostile})
		require.ErrorContains(t, err, `with.file: "nope.csv": no such file in the run's scratch directory`)
		require.ErrorIs(t, err, task.ErrPermanent)
		_, err = bulkRun(ctx, t, set, "a.csv", "1\n", obj{"connection": "db", "file": "a.csv", "table": "salse"})
		var dbErr *connection.Error
		require.ErrorAs(t, err, &dbErr)
		require.Contains(t, dbErr.Message, "salse")
	})
}

// A bad row fails the load with the server's message and where it is;
// nothing of the file is loaded.
func TestBulkInsertBadRow(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, s sqlServer, set *connection.Set, db *sql.DB) {
		ctx := t.Context()
		_, err := db.ExecContext(ctx, "CREATE TABLE t (id INT, region VARCHAR(5))")
		require.NoError(t, err)
		_, err = bulkRun(ctx, t, set, "bad.csv", "id,region\n1,eu\n2,us\nthree,eu\n4,us\n",
			obj{"connection": "db", "file": "bad.csv", "table": "t", "header": true})
		var dbErr *connection.Error
		require.ErrorAs(t, err, &dbErr, "%v", err)
		if s.kind == connection.Postgres {
			require.Equal(t, "22P02", dbErr.Code)
			require.ErrorContains(t, err, `invalid input syntax for type integer: "three"`)
			require.ErrorContains(t, err, "line 4", "the file's line")
		} else {
			require.Equal(t, "1366", dbErr.Code)
			require.ErrorContains(t, err, "'three'")
			require.ErrorContains(t, err, "row 3", "the file's row after the header")
		}
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n))
		assert.Zero(t, n, "all or nothing")
	})
}

// A timeout, or a stop, cancels a load the server is still busy with (here
// waiting for a lock another session holds) on the server.
func TestBulkInsertTimeoutAndStop(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, s sqlServer, set *connection.Set, db *sql.DB) {
		ctx := t.Context()
		_, err := db.ExecContext(ctx, "CREATE TABLE t (id INT)")
		require.NoError(t, err)
		for _, stop := range []bool{false, true} {
			// Another session holds the table.
			holder, err := db.Conn(ctx)
			require.NoError(t, err)
			lock := "LOCK TABLES t WRITE"
			if s.kind == connection.Postgres {
				_, err = holder.ExecContext(ctx, "BEGIN")
				require.NoError(t, err)
				lock = "LOCK TABLE t IN ACCESS EXCLUSIVE MODE"
			}
			_, err = holder.ExecContext(ctx, lock)
			require.NoError(t, err)

			with := obj{"connection": "db", "file": "a.csv", "table": "t"}
			runCtx, cancel := context.WithCancel(ctx)
			if stop {
				time.AfterFunc(500*time.Millisecond, cancel)
			} else {
				with["timeout"] = "500ms"
			}
			start := time.Now()
			_, err = bulkRun(runCtx, t, set, "a.csv", "1\n2\n", with)
			cancel()
			require.Error(t, err)
			if stop {
				require.ErrorContains(t, err, "stopped: nothing was loaded")
			} else {
				require.ErrorContains(t, err, "timed out after 500ms (with.timeout): nothing was loaded")
			}
			require.Less(t, time.Since(start), 15*time.Second, "canceled, not waiting for the lock")
			// Nothing of it is left running on the server.
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				var n int
				require.NoError(c, db.QueryRowContext(ctx, s.running, "Reader::").Scan(&n))
				assert.Zero(c, n)
				if s.kind == connection.Postgres {
					require.NoError(c, db.QueryRowContext(ctx, s.running, "COPY").Scan(&n))
					assert.Zero(c, n)
				}
			}, 15*time.Second, 50*time.Millisecond)

			unlock := "UNLOCK TABLES"
			if s.kind == connection.Postgres {
				unlock = "ROLLBACK"
			}
			_, err = holder.ExecContext(ctx, unlock)
			require.NoError(t, err)
			require.NoError(t, holder.Close())
			var n int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n))
			require.Zero(t, n)
		}
		out, err := bulkRun(ctx, t, set, "a.csv", "1\n2\n", obj{"connection": "db", "file": "a.csv", "table": "t", "timeout": "30s"})
		require.NoError(t, err)
		assert.Equal(t, 2, out["rows"])
	})
}
