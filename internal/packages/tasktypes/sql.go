package tasktypes

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/suggest"
)

// SQL is the sql task type, SSIS's Execute SQL task: it runs one or more
// statements on a database connection of the package.
//
// Settings (with):
//
//	connection   required  a postgres, mysql or sqlserver connection of the package
//	statement    one of    one statement
//	statements   these     statements run in order, each a string or
//	file         three     {statement, parameters}; the result is the last one's
//	                       a file of the run's scratch directory (Input.Dir) holding
//	                       one statement: a relative path that stays inside it
//	parameters             the values of statement's (or file's) placeholders, bound
//	                       by the driver, never written into the text: $1, $2 for
//	                       PostgreSQL, ? for MySQL and MariaDB, @p1 for SQL Server
//	result                 none (the default), rows_affected, scalar, row or rowset
//	max_rows               rowset: the most rows kept (default 10000); more fails
//	timeout                bounds the statements, e.g. "30s"
//	transaction            true: the statements run in one transaction (all or none)
//
// Output: rows_affected (the rows the statements run for their effect
// changed, summed), and by result: value (scalar: the first column of the
// first row), row (row: the first row as a map of column to value, for the
// task's outputs such as {total: row.total}), rows and row_count (rowset: a
// list of maps, for a foreach). Numbers come back as int or float64,
// DECIMAL and NUMERIC as text (no precision lost), times as datetimes,
// binary data that is not UTF-8 as base64 text.
//
// A task inside a sequence with a transaction on the same connection runs
// in that transaction (task.Transactions), whatever its own transaction
// setting. A timeout or a stop cancels the running statement on the
// server: pgx and go-mssqldb ask the server to cancel it; for MySQL and
// MariaDB, whose driver only drops the connection, the task issues KILL
// QUERY for the statement's session on a connection of its own. Errors
// carry the server's message, code and the statement's line, and say
// which statement of several failed.
type SQL struct{}

// DefaultMaxRows is how many rows a rowset result keeps when max_rows is
// not set.
const DefaultMaxRows = 10_000

// The result modes.
const (
	resultNone         = "none"
	resultRowsAffected = "rows_affected"
	resultScalar       = "scalar"
	resultRow          = "row"
	resultRowset       = "rowset"
)

var resultModes = []string{resultNone, resultRowsAffected, resultScalar, resultRow, resultRowset}

// ConnectionKinds implements task.ConnectionUser.
func (SQL) ConnectionKinds() []connection.Kind {
	return []connection.Kind{connection.Postgres, connection.MySQL, connection.SQLServer}
}

type sqlStatement struct {
	text string
	args []any
}

type sqlConfig struct {
	connection  string
	statements  []sqlStatement
	file        string
	args        []any // the file's
	result      string
	maxRows     int
	timeout     time.Duration
	transaction bool
}

func readSQL(with map[string]any, check bool) (sqlConfig, *settings) {
	s := newSettings(with, check, "connection", "statement", "statements", "file", "parameters", "result",
		"max_rows", "timeout", "transaction")
	cfg := sqlConfig{result: resultNone, maxRows: DefaultMaxRows}
	if _, ok := s.get("connection"); !ok {
		s.missing("connection", "name a database connection of the package")
	}
	cfg.connection, _ = s.str("connection", "a connection's name")

	var given []string
	for _, k := range []string{"statement", "statements", "file"} {
		if _, ok := s.get(k); ok {
			given = append(given, k)
		}
	}
	switch len(given) {
	case 0:
		s.missing("statement", "give the SQL as statement, statements (a list) or file")
	case 1:
	default:
		s.errs = append(s.errs, fmt.Errorf("with: %s are given: give one of statement, statements and file", strings.Join(given, " and ")))
	}
	params, hasParams := s.list("parameters", `["2026-01-31", 100]`)
	if v, ok := s.get("statement"); ok && !s.placeholder(v) {
		text, ok := v.(string)
		switch {
		case !ok:
			s.problem("statement", v, "want the SQL text, not %s", kind(v))
		case strings.TrimSpace(text) == "":
			s.problem("statement", v, "is empty")
		default:
			cfg.statements = []sqlStatement{{text: text, args: params}}
		}
	}
	if l, ok := s.list("statements", `["DELETE FROM stage", {statement: "INSERT INTO t VALUES ($1)", parameters: [1]}]`); ok {
		if len(l) == 0 {
			s.problem("statements", l, "list at least one statement")
		}
		if hasParams {
			s.errs = append(s.errs, errors.New("with.parameters: goes with statement or file; give each of statements its own: {statement: ..., parameters: [...]}"))
		}
		for i, e := range l {
			if st, ok := s.statementAt(fmt.Sprintf("statements[%d]", i), e); ok {
				cfg.statements = append(cfg.statements, st)
			}
		}
	}
	if f, ok := s.str("file", "a relative path"); ok {
		if err := checkRelative(f); err != nil {
			s.problem("file", f, "%v", err)
		} else {
			cfg.file, cfg.args = f, params
		}
	}
	if r, ok := s.str("result", "one of "+strings.Join(resultModes, ", ")); ok {
		if !slices.Contains(resultModes, r) {
			s.problem("result", r, "want one of %s%s", strings.Join(resultModes, ", "), didYouMean(r, resultModes))
		} else {
			cfg.result = r
		}
	}
	if n, ok := s.integer("max_rows", 1, 1_000_000); ok {
		cfg.maxRows = n
	}
	if d, ok := s.duration("timeout", false); ok {
		cfg.timeout = d
	}
	if v, ok := s.get("transaction"); ok && !s.placeholder(v) {
		b, isBool := v.(bool)
		if !isBool {
			s.problem("transaction", v, "want true or false")
		}
		cfg.transaction = b
	}
	return cfg, s
}

// statementAt reads one item of statements.
func (s *settings) statementAt(path string, v any) (sqlStatement, bool) {
	if s.placeholder(v) {
		return sqlStatement{}, false
	}
	if text, ok := v.(string); ok {
		if strings.TrimSpace(text) == "" {
			s.problem(path, v, "is empty")
			return sqlStatement{}, false
		}
		return sqlStatement{text: text}, true
	}
	m, ok := asObject(v)
	if !ok {
		s.problem(path, v, "want the SQL text or {statement: ..., parameters: [...]}, not %s", kind(v))
		return sqlStatement{}, false
	}
	inner := newSettings(m, s.check, "statement", "parameters")
	for _, err := range inner.errs {
		s.errs = append(s.errs, fmt.Errorf("%s: %w", path, err))
	}
	st := sqlStatement{}
	text, isText := m["statement"].(string)
	switch {
	case m["statement"] == nil:
		s.missing(path+".statement", "the SQL text")
		return st, false
	case s.placeholder(m["statement"]):
	case !isText || strings.TrimSpace(text) == "":
		s.problem(path+".statement", m["statement"], "want the SQL text")
		return st, false
	}
	st.text = text
	if p, ok := m["parameters"]; ok && p != nil && !s.placeholder(p) {
		l, ok := asList(p)
		if !ok {
			s.problem(path+".parameters", p, "want a list, not %s", kind(p))
			return st, false
		}
		st.args = l
	}
	return st, !s.placeholder(m["statement"])
}

// checkRelative refuses a path that is absolute or climbs out of the
// directory it is relative to.
func checkRelative(p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return errors.New("is empty")
	case filepath.IsAbs(p) || strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`):
		return errors.New("must be relative to the run's scratch directory, not absolute")
	case !filepath.IsLocal(p):
		return errors.New("must stay inside the run's scratch directory (no '..' out of it)")
	}
	return nil
}

func didYouMean(s string, known []string) string {
	if near := suggest.Closest(s, known); near != "" {
		return fmt.Sprintf("; did you mean %q?", near)
	}
	return ""
}

// Check implements task.Type.
func (SQL) Check(with map[string]any) error {
	_, s := readSQL(with, true)
	return s.err()
}

// Run implements task.Type.
func (SQL) Run(ctx context.Context, in task.Input) (task.Output, error) {
	cfg, s := readSQL(in.With, false)
	if err := s.runErr(); err != nil {
		return nil, err
	}
	if in.Connections == nil {
		return nil, permanent(fmt.Errorf("connection %q: the package defines no connections", cfg.connection))
	}
	conn, err := in.Connections.Connection(cfg.connection)
	if err != nil {
		return nil, permanent(err)
	}
	if !conn.Kind.IsDatabase() {
		return nil, permanent(fmt.Errorf("connection %q is of kind %s: an sql task needs a postgres, mysql or sqlserver connection", conn.Name, conn.Kind))
	}
	if cfg.file != "" {
		text, err := readScratchFile(in.Dir, cfg.file)
		if err != nil {
			return nil, permanent(fmt.Errorf("with.file: %w", err))
		}
		cfg.statements = []sqlStatement{{text: text, args: cfg.args}}
	}
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, cfg.timeout, errSQLTimeout)
		defer cancel()
	}
	r := &sqlRun{cfg: cfg, conn: conn, ctx: ctx}
	out, err := r.run(in.Connections)
	if err != nil && ctx.Err() != nil {
		why := "stopped"
		if errors.Is(context.Cause(ctx), errSQLTimeout) {
			why = fmt.Sprintf("timed out after %s (with.timeout)", cfg.timeout)
		}
		return nil, fmt.Errorf("%s: %w", why, err)
	}
	return out, err
}

var errSQLTimeout = errors.New("sql timeout")

// readScratchFile reads a file of the run's scratch directory through an
// os.Root, so that neither the path nor a symbolic link leads out of it.
func readScratchFile(dir, name string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("%q: the run has no scratch directory to read it from", name)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("opening the run's scratch directory: %w", err)
	}
	defer root.Close() //nolint:errcheck // only read
	b, err := root.ReadFile(filepath.FromSlash(name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%q: no such file in the run's scratch directory", name)
	case err != nil:
		return "", fmt.Errorf("%q: %w", name, err)
	case !utf8.Valid(b):
		return "", fmt.Errorf("%q: not UTF-8 text", name)
	case strings.TrimSpace(string(b)) == "":
		return "", fmt.Errorf("%q: the file is empty", name)
	}
	return string(b), nil
}

// querier is what the statements run on: a connection of the pool or a
// transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type sqlRun struct {
	cfg  sqlConfig
	conn connection.Connection
	ctx  context.Context // the task's: its end cancels the statement
	// run is the context the driver gets: ctx, except for MySQL, whose
	// driver drops the connection on a cancel rather than stop the
	// statement; there the task kills the statement on the server first.
	drv context.Context
}

func (r *sqlRun) run(conns task.Connections) (task.Output, error) {
	r.drv = r.ctx
	if r.conn.Kind == connection.MySQL {
		var cancel context.CancelFunc
		r.drv, cancel = context.WithCancel(context.WithoutCancel(r.ctx))
		defer cancel()
	}
	// In a sequence's transaction?
	if txs, ok := conns.(task.Transactions); ok {
		tx, release, inTx, err := txs.Tx(r.ctx, r.conn.Name)
		if err != nil {
			return nil, err
		}
		if inTx {
			defer release()
			return r.statements(tx)
		}
	}
	db, err := conns.DB(r.ctx, r.conn.Name)
	if err != nil {
		return nil, err
	}
	c, err := db.Conn(r.ctx)
	if err != nil {
		return nil, r.conn.MapError(err, "")
	}
	defer c.Close() //nolint:errcheck // returns the connection to the pool
	if !r.cfg.transaction {
		return r.statements(c)
	}
	tx, err := c.BeginTx(r.drv, nil)
	if err != nil {
		return nil, r.conn.MapError(err, "")
	}
	out, err := r.statements(tx)
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("committing: %w", r.conn.MapError(err, ""))
	}
	return out, nil
}

// statements runs the statements on q, the last for the result.
func (r *sqlRun) statements(q querier) (task.Output, error) {
	if r.conn.Kind == connection.MySQL {
		stop, err := r.killOnCancel(q)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	out := task.Output{}
	var affected int64
	n := len(r.cfg.statements)
	for i, st := range r.cfg.statements {
		args, err := bindArgs(st.args)
		if err != nil {
			return nil, permanent(r.which(i, err))
		}
		if i < n-1 || r.cfg.result == resultNone || r.cfg.result == resultRowsAffected {
			res, err := q.ExecContext(r.drv, st.text, args...)
			if err == nil && r.conn.Kind == connection.MySQL {
				err = r.ctx.Err() // the statement was killed (SLEEP returns 1 then, not an error)
			}
			if err != nil {
				return nil, r.which(i, r.conn.MapError(err, st.text))
			}
			if k, err := res.RowsAffected(); err == nil {
				affected += k
			}
			continue
		}
		if err := r.query(q, st, args, out); err != nil {
			return nil, r.which(i, err)
		}
	}
	out["rows_affected"] = affected
	return out, nil
}

// which names the statement in an error when there are several.
func (r *sqlRun) which(i int, err error) error {
	if len(r.cfg.statements) == 1 {
		return err
	}
	return fmt.Errorf("statement %d of %d: %w", i+1, len(r.cfg.statements), err)
}

// query runs the last statement for its rows and puts them in out as the
// result mode says.
func (r *sqlRun) query(q querier, st sqlStatement, args []any, out task.Output) error {
	rows, err := q.QueryContext(r.drv, st.text, args...)
	if err != nil {
		return r.conn.MapError(err, st.text)
	}
	defer rows.Close() //nolint:errcheck // the error is rows.Err's
	cols, err := rows.ColumnTypes()
	if err != nil {
		return r.conn.MapError(err, st.text)
	}
	var list []any
	for rows.Next() {
		if r.cfg.result != resultRowset && len(list) == 1 {
			break // scalar and row read the first row only
		}
		if len(list) >= r.cfg.maxRows {
			return permanent(fmt.Errorf("the statement returned more than %d rows (with.max_rows): filter it, or raise max_rows", r.cfg.maxRows))
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return r.conn.MapError(err, st.text)
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			row[c.Name()] = columnValue(vals[i], c.DatabaseTypeName())
		}
		if r.cfg.result == resultScalar {
			list = append(list, columnValue(vals[0], cols[0].DatabaseTypeName()))
			continue
		}
		list = append(list, row)
	}
	if err := rows.Err(); err != nil {
		return r.conn.MapError(err, st.text)
	}
	if err := rows.Close(); err != nil {
		return r.conn.MapError(err, st.text)
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	switch r.cfg.result {
	case resultRowset:
		if list == nil {
			list = []any{}
		}
		out["rows"], out["row_count"] = list, len(list)
	case resultScalar, resultRow:
		if len(list) == 0 {
			return permanent(fmt.Errorf("result %s: the statement returned no rows", r.cfg.result))
		}
		if r.cfg.result == resultScalar {
			if len(cols) == 0 {
				return permanent(errors.New("result scalar: the statement returned no columns"))
			}
			out["value"] = list[0]
		} else {
			out["row"] = list[0]
		}
	}
	return nil
}

// bindArgs turns parameters into driver values: text, numbers, booleans,
// times and nulls as they are, lists and objects as JSON text.
func bindArgs(params []any) ([]any, error) {
	args := make([]any, len(params))
	for i, p := range params {
		switch x := p.(type) {
		case nil, string, bool, int, int64, int32, float64, float32, time.Time, []byte:
			args[i] = x
		case json.Number:
			if n, err := x.Int64(); err == nil {
				args[i] = n
			} else if f, err := x.Float64(); err == nil {
				args[i] = f
			} else {
				args[i] = x.String()
			}
		default:
			if l, ok := asList(x); ok {
				p = l
			} else if m, ok := asObject(x); ok {
				p = m
			}
			b, err := json.Marshal(p)
			if err != nil {
				return nil, fmt.Errorf("with.parameters[%d]: a %T cannot be sent to the server", i, x)
			}
			args[i] = string(b)
		}
	}
	return args, nil
}

// columnValue turns a scanned column into an output value. MySQL's text
// protocol sends every column as bytes: its type names say which are
// numbers.
func columnValue(v any, dbType string) any {
	switch x := v.(type) {
	case int64:
		return int(x)
	case int32:
		return int(x)
	case float32:
		return float64(x)
	case []byte:
		text := string(x)
		switch strings.ToUpper(dbType) {
		case "INT", "INTEGER", "TINYINT", "SMALLINT", "MEDIUMINT", "BIGINT", "YEAR", "UNSIGNED INT", "UNSIGNED BIGINT",
			"UNSIGNED TINYINT", "UNSIGNED SMALLINT", "UNSIGNED MEDIUMINT":
			if n, err := strconv.ParseInt(text, 10, 64); err == nil {
				return int(n)
			}
		case "FLOAT", "DOUBLE", "REAL":
			if f, err := strconv.ParseFloat(text, 64); err == nil {
				return f
			}
		}
		if !utf8.Valid(x) {
			return base64.StdEncoding.EncodeToString(x)
		}
		return text
	}
	return v
}

// killOnCancel, for MySQL and MariaDB, kills the session's running
// statement when the task's context ends (KILL QUERY, on a connection of
// its own: the pool may be full), then, should the statement still not
// return, ends the driver's context a little later, which drops the
// connection. stop undoes it once the statements are done.
func (r *sqlRun) killOnCancel(q querier) (stop func(), err error) {
	var id int64
	if err := queryRowScan(r.drv, q, "SELECT CONNECTION_ID()", &id); err != nil {
		return nil, r.conn.MapError(err, "SELECT CONNECTION_ID()")
	}
	runCtx := r.drv
	fallback, cancelFallback := context.WithCancel(runCtx)
	r.drv = fallback
	after := context.AfterFunc(r.ctx, func() {
		killQuery(r.conn, id)
		time.AfterFunc(killGrace, cancelFallback)
	})
	return func() {
		after()
		cancelFallback()
		r.drv = runCtx
	}, nil
}

// killGrace is how long a killed MySQL statement has to return before the
// task drops its connection.
const killGrace = 5 * time.Second

func queryRowScan(ctx context.Context, q querier, query string, dest ...any) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close() //nolint:errcheck // the error is rows.Err's
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// killQuery stops MySQL session id's running statement, on a connection
// opened for it alone.
func killQuery(c connection.Connection, id int64) {
	_, dsn, err := c.DSN()
	if err != nil {
		return
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return
	}
	db := sql.OpenDB(connector)
	defer db.Close() //nolint:errcheck // one statement's connection
	ctx, cancel := context.WithTimeout(context.Background(), killGrace)
	defer cancel()
	_, _ = db.ExecContext(ctx, "KILL QUERY "+strconv.FormatInt(id, 10))
}
