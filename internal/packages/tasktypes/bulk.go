package tasktypes

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// BulkInsert is the bulk_insert task type, SSIS's Bulk Insert task: it
// loads a CSV file of the run's scratch directory into a table, in one
// statement the server reads the file through, all rows or none.
//
// Settings (with):
//
//	connection  required  a postgres, mysql or sqlserver connection of the package
//	file        required  the file: a relative path inside the run's scratch directory
//	table       required  the table, one name (quoted as an identifier, whatever it holds)
//	schema                its schema (PostgreSQL, SQL Server) or database (MySQL)
//	columns               the table's columns the file's fields go to, in order;
//	                      default every column, in the table's order
//	format                csv (the default and only one)
//	delimiter             the field separator, one character (default ",")
//	quote                 the quote character, one character (default '"')
//	header                true: the first line names the fields and is skipped
//	null                  the field text that means NULL (default "": an empty field)
//	timeout               bounds the load, e.g. "5m"
//
// Output: rows, the rows loaded.
//
// PostgreSQL loads with COPY ... FROM STDIN through pgx; MySQL and MariaDB
// with LOAD DATA LOCAL INFILE from a reader registered for this load alone
// (the driver's allowAllFiles stays off: no file of the worker can be
// named), in a transaction, its warnings checked, since with LOCAL the
// server turns bad values into warnings rather than stop; SQL Server with
// go-mssqldb's bulk copy (mssql.CopyIn), the file read here. Table, schema
// and column names are always quoted by the server's rules ("" for
// PostgreSQL, backticks for MySQL, [] for SQL Server), never written bare. A bad
// row fails the task with the server's message, which names the line
// (PostgreSQL) or row (MySQL); nothing is loaded then. A stop or the
// timeout cancels the load on the server.
type BulkInsert struct{}

// ConnectionKinds implements task.ConnectionUser.
func (BulkInsert) ConnectionKinds() []connection.Kind {
	return []connection.Kind{connection.Postgres, connection.MySQL, connection.SQLServer}
}

type bulkConfig struct {
	connection string
	file       string
	table      string
	schema     string
	columns    []string
	delimiter  rune
	quote      rune
	header     bool
	null       string
	timeout    time.Duration
}

var bulkFormats = []string{"csv"}

func readBulk(with map[string]any, check bool) (bulkConfig, *settings) {
	s := newSettings(with, check, "connection", "file", "table", "schema", "columns", "format", "delimiter", "quote",
		"header", "null", "timeout")
	cfg := bulkConfig{delimiter: ',', quote: '"'}
	for _, k := range []struct{ key, what string }{
		{"connection", "name a database connection of the package"},
		{"file", "the CSV file to load: a relative path in the run's scratch directory"},
		{"table", "the table to load into"},
	} {
		if _, ok := s.get(k.key); !ok {
			s.missing(k.key, k.what)
		}
	}
	cfg.connection, _ = s.str("connection", "a connection's name")
	if f, ok := s.str("file", "a relative path"); ok {
		if err := checkRelative(f); err != nil {
			s.problem("file", f, "%v", err)
		} else {
			cfg.file = f
		}
	}
	name := func(key string) string {
		v, ok := s.str(key, "a name")
		if ok {
			if err := checkIdentifier(v); err != nil {
				s.problem(key, v, "%v", err)
			}
		}
		return v
	}
	cfg.table, cfg.schema = name("table"), name("schema")
	if l, ok := s.list("columns", `["id", "region", "amount"]`); ok {
		if len(l) == 0 {
			s.problem("columns", l, "list at least one column, or leave columns out for all of them")
		}
		seen := map[string]bool{}
		for i, v := range l {
			if s.placeholder(v) {
				continue
			}
			path := fmt.Sprintf("columns[%d]", i)
			c, ok := s.scalar(path, v, "a column name")
			if !ok {
				continue
			}
			if err := checkIdentifier(c); err != nil {
				s.problem(path, c, "%v", err)
				continue
			}
			if seen[c] {
				s.problem(path, c, "listed twice")
			}
			seen[c] = true
			cfg.columns = append(cfg.columns, c)
		}
	}
	if f, ok := s.str("format", "csv"); ok && f != "csv" {
		s.problem("format", f, "want csv (the only format)%s", didYouMean(f, bulkFormats))
	}
	char := func(key string, def rune) rune {
		v, ok := s.str(key, "one character")
		if !ok {
			return def
		}
		r, size := utf8.DecodeRuneInString(v)
		switch {
		case v == "" || size != len(v) || r == utf8.RuneError:
			s.problem(key, v, "want one ASCII character, such as \",\" or \";\" or \"\\t\"")
		case r == '\n' || r == '\r' || r == '\'' || r == '\\' || r == 0:
			s.problem(key, v, "cannot be a line break, a quote ('), a backslash or NUL")
		default:
			return r
		}
		return def
	}
	cfg.delimiter, cfg.quote = char("delimiter", ','), char("quote", '"')
	if cfg.delimiter == cfg.quote {
		s.errs = append(s.errs, fmt.Errorf("with.delimiter and with.quote: both are %q: use two characters", cfg.delimiter))
	}
	if v, ok := s.get("header"); ok && !s.placeholder(v) {
		b, isBool := v.(bool)
		if !isBool {
			s.problem("header", v, "want true or false")
		}
		cfg.header = b
	}
	if v, ok := s.get("null"); ok && !s.placeholder(v) {
		n, _ := s.scalar("null", v, "the text that means NULL")
		if strings.ContainsAny(n, "\n\r\x00") {
			s.problem("null", n, "cannot hold a line break or NUL")
		}
		cfg.null = n
	}
	if d, ok := s.duration("timeout", false); ok {
		cfg.timeout = d
	}
	return cfg, s
}

// checkIdentifier refuses names no server takes; any other text is quoted.
func checkIdentifier(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("is empty")
	case strings.ContainsRune(name, 0):
		return errors.New("holds a NUL character")
	case utf8.RuneCountInString(name) > 128:
		return errors.New("longer than 128 characters")
	case !utf8.ValidString(name):
		return errors.New("not UTF-8 text")
	}
	return nil
}

// Check implements task.Type.
func (BulkInsert) Check(with map[string]any) error {
	_, s := readBulk(with, true)
	return s.err()
}

var errBulkTimeout = errors.New("bulk insert timeout")

// Run implements task.Type.
func (BulkInsert) Run(ctx context.Context, in task.Input) (task.Output, error) {
	cfg, s := readBulk(in.With, false)
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
		return nil, permanent(fmt.Errorf("connection %q is of kind %s: a bulk_insert task needs a postgres, mysql or sqlserver connection", conn.Name, conn.Kind))
	}
	if txs, ok := in.Connections.(task.Transactions); ok {
		if _, release, inTx, err := txs.Tx(ctx, conn.Name); err == nil && inTx {
			release()
			return nil, permanent(fmt.Errorf("connection %q: a bulk_insert task does not run inside a sequence's transaction on its connection "+
				"(it is all or nothing on its own): move it out of the sequence, or give it another connection", conn.Name))
		}
	}
	f, err := openScratchFile(in.Dir, cfg.file)
	if err != nil {
		return nil, permanent(fmt.Errorf("with.file: %w", err))
	}
	defer f.Close() //nolint:errcheck // only read
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, cfg.timeout, errBulkTimeout)
		defer cancel()
	}
	db, err := in.Connections.DB(ctx, conn.Name)
	if err != nil {
		return nil, err
	}
	var rows int64
	switch conn.Kind {
	case connection.Postgres:
		rows, err = bulkPostgres(ctx, conn, db, cfg, f)
	case connection.MySQL:
		rows, err = bulkMySQL(ctx, conn, db, cfg, f)
	default:
		rows, err = bulkSQLServer(ctx, conn, db, cfg, f)
	}
	if err != nil && ctx.Err() != nil {
		why := "stopped"
		if errors.Is(context.Cause(ctx), errBulkTimeout) {
			why = fmt.Sprintf("timed out after %s (with.timeout)", cfg.timeout)
		}
		return nil, fmt.Errorf("%s: nothing was loaded: %w", why, err)
	}
	if err != nil {
		return nil, err
	}
	in.Log.Output("", fmt.Sprintf("loaded %d rows from %s into %s", rows, cfg.file, cfg.qualified()))
	return task.Output{"rows": int(rows)}, nil
}

// qualified is the table's name as the messages show it.
func (c bulkConfig) qualified() string {
	if c.schema != "" {
		return c.schema + "." + c.table
	}
	return c.table
}

// openScratchFile opens a file of the run's scratch directory through an
// os.Root, so that neither the path nor a symbolic link leads out of it.
func openScratchFile(dir, name string) (*os.File, error) {
	if dir == "" {
		return nil, fmt.Errorf("%q: the run has no scratch directory to read it from", name)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the run's scratch directory: %w", err)
	}
	defer root.Close() //nolint:errcheck // the file stays open
	f, err := root.Open(filepath.FromSlash(name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%q: no such file in the run's scratch directory", name)
	case err != nil:
		return nil, fmt.Errorf("%q: %w", name, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("%q: not a regular file", name)
	}
	return f, nil
}

// Identifier quoting, by each server's rules.

func quotePostgres(names ...string) string { return pgx.Identifier(names).Sanitize() }

func quoteMySQL(names ...string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + strings.ReplaceAll(n, "`", "``") + "`"
	}
	return strings.Join(q, ".")
}

func quoteSQLServer(names ...string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "[" + strings.ReplaceAll(n, "]", "]]") + "]"
	}
	return strings.Join(q, ".")
}

// target is the table's parts: the schema when given, then the table.
func (c bulkConfig) target() []string {
	if c.schema != "" {
		return []string{c.schema, c.table}
	}
	return []string{c.table}
}

// postgresLiteral is an escape string constant (E'...'), the same whatever
// standard_conforming_strings says.
func postgresLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// copyStatement is the PostgreSQL COPY statement of the load.
func (c bulkConfig) copyStatement() string {
	var b strings.Builder
	b.WriteString("COPY " + quotePostgres(c.target()...))
	if len(c.columns) > 0 {
		cols := make([]string, len(c.columns))
		for i, col := range c.columns {
			cols[i] = quotePostgres(col)
		}
		b.WriteString(" (" + strings.Join(cols, ", ") + ")")
	}
	fmt.Fprintf(&b, " FROM STDIN WITH (FORMAT csv, DELIMITER %s, QUOTE %s, NULL %s, HEADER %t)",
		postgresLiteral(string(c.delimiter)), postgresLiteral(string(c.quote)), postgresLiteral(c.null), c.header)
	return b.String()
}

func bulkPostgres(ctx context.Context, conn connection.Connection, db *sql.DB, cfg bulkConfig, r io.Reader) (int64, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return 0, conn.MapError(err, "")
	}
	defer c.Close() //nolint:errcheck // back to the pool
	stmt := cfg.copyStatement()
	var rows int64
	err = c.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("connection %q: not a pgx connection (%T)", conn.Name, dc)
		}
		tag, err := pc.Conn().PgConn().CopyFrom(ctx, r, stmt)
		rows = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, withWhere(conn.MapError(err, stmt), err)
	}
	return rows, nil
}

// withWhere adds PostgreSQL's context (for COPY: "COPY t, line 3, column
// n: ...", the file's line) to a mapped error.
func withWhere(mapped, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Where != "" {
		return fmt.Errorf("%w; at %s", mapped, pgErr.Where)
	}
	return mapped
}

// mysqlLiteral is a string constant that no sql_mode reads differently:
// hex, as utf8mb4 text.
func mysqlLiteral(s string) string {
	return "CONVERT(X'" + hex.EncodeToString([]byte(s)) + "' USING utf8mb4)"
}

// loadStatement is the MySQL LOAD DATA statement of the load: the fields
// read into variables, each column set from its variable, NULL where the
// field is the null text. The delimiter and quote are checked to be
// neither a quote nor a backslash, so they stand in '...' as they are;
// LOAD DATA takes no other form of constant there.
func (c bulkConfig) loadStatement(reader string, columns []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "LOAD DATA LOCAL INFILE 'Reader::%s' INTO TABLE %s CHARACTER SET utf8mb4", reader, quoteMySQL(c.target()...))
	fmt.Fprintf(&b, " FIELDS TERMINATED BY '%c' OPTIONALLY ENCLOSED BY '%c' ESCAPED BY '' LINES TERMINATED BY '\n'", c.delimiter, c.quote)
	if c.header {
		b.WriteString(" IGNORE 1 LINES")
	}
	vars := make([]string, len(columns))
	sets := make([]string, len(columns))
	for i, col := range columns {
		vars[i] = fmt.Sprintf("@f%d", i+1)
		sets[i] = fmt.Sprintf("%s = NULLIF(@f%d, %s)", quoteMySQL(col), i+1, mysqlLiteral(c.null))
	}
	b.WriteString(" (" + strings.Join(vars, ", ") + ") SET " + strings.Join(sets, ", "))
	return b.String()
}

// tableColumns are the table's columns in order, read from an empty
// result of it.
func tableColumns(ctx context.Context, conn connection.Connection, q querier, table string) ([]string, error) {
	query := "SELECT * FROM " + table + " WHERE 1 = 0"
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, conn.MapError(err, query)
	}
	defer rows.Close() //nolint:errcheck // the error is Columns'
	cols, err := rows.Columns()
	if err != nil {
		return nil, conn.MapError(err, query)
	}
	return cols, rows.Close()
}

func bulkMySQL(ctx context.Context, conn connection.Connection, db *sql.DB, cfg bulkConfig, r io.Reader) (int64, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return 0, conn.MapError(err, "")
	}
	defer c.Close() //nolint:errcheck // back to the pool
	// The driver drops the connection on a cancel rather than stop the
	// statement: kill it on the server first (as the sql task does).
	run := &sqlRun{conn: conn, ctx: ctx}
	var cancel context.CancelFunc
	run.drv, cancel = context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop, err := run.killOnCancel(c)
	if err != nil {
		return 0, err
	}
	defer stop()
	columns := cfg.columns
	if len(columns) == 0 {
		if columns, err = tableColumns(run.drv, conn, c, quoteMySQL(cfg.target()...)); err != nil {
			return 0, err
		}
	}
	tx, err := c.BeginTx(run.drv, nil)
	if err != nil {
		return 0, conn.MapError(err, "")
	}
	defer tx.Rollback() //nolint:errcheck // after a commit, a no-op
	name := "scaleout-bulk-" + uuid.NewString()
	mysql.RegisterReaderHandler(name, func() io.Reader { return r })
	defer mysql.DeregisterReaderHandler(name)
	stmt := cfg.loadStatement(name, columns)
	res, err := tx.ExecContext(run.drv, stmt)
	if err == nil {
		err = ctx.Err() // killed
	}
	if err != nil {
		return 0, conn.MapError(err, stmt)
	}
	// With LOCAL the server cannot stop the file's transfer, so it loads
	// what it can and turns bad values into warnings: any is a failure.
	if err := mysqlWarnings(run.drv, conn, tx); err != nil {
		return 0, err
	}
	rows, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing: %w", conn.MapError(err, ""))
	}
	return rows, nil
}

// mysqlWarnings fails with the first of the load's warnings, as the
// server error it would be without LOCAL.
func mysqlWarnings(ctx context.Context, conn connection.Connection, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SHOW WARNINGS LIMIT 1")
	if err != nil {
		return conn.MapError(err, "SHOW WARNINGS")
	}
	defer rows.Close() //nolint:errcheck // the error is rows.Err's
	if rows.Next() {
		var level, msg string
		var code uint16
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return conn.MapError(err, "SHOW WARNINGS")
		}
		return permanent(conn.MapError(&mysql.MySQLError{Number: code, Message: msg}, ""))
	}
	return rows.Err()
}

// sqlServerCopy is the bulk copy statement (go-mssqldb's CopyIn) for
// columns, the table's name quoted.
func (c bulkConfig) sqlServerCopy(columns []string) string {
	cols := make([]string, len(columns))
	for i, col := range columns {
		cols[i] = quoteSQLServer(col)
	}
	return mssql.CopyIn(quoteSQLServer(c.target()...), mssql.BulkOptions{CheckConstraints: true, FireTriggers: true}, cols...)
}

func bulkSQLServer(ctx context.Context, conn connection.Connection, db *sql.DB, cfg bulkConfig, r io.Reader) (int64, error) {
	if cfg.quote != '"' {
		return 0, permanent(fmt.Errorf("with.quote %q: SQL Server loads read the file here, with '\"' quotes only", cfg.quote))
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return 0, conn.MapError(err, "")
	}
	defer c.Close() //nolint:errcheck // back to the pool
	columns := cfg.columns
	if len(columns) == 0 {
		if columns, err = tableColumns(ctx, conn, c, quoteSQLServer(cfg.target()...)); err != nil {
			return 0, err
		}
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return 0, conn.MapError(err, "")
	}
	defer tx.Rollback() //nolint:errcheck // after a commit, a no-op
	stmt, err := tx.PrepareContext(ctx, cfg.sqlServerCopy(columns))
	if err != nil {
		return 0, conn.MapError(err, "")
	}
	defer stmt.Close() //nolint:errcheck // the load's errors are Exec's
	cr := csv.NewReader(r)
	cr.Comma, cr.FieldsPerRecord, cr.ReuseRecord = cfg.delimiter, len(columns), true
	line := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return 0, permanent(fmt.Errorf("with.file %q: %w", cfg.file, err))
		}
		if line == 1 && cfg.header {
			continue
		}
		args := make([]any, len(rec))
		for i, f := range rec {
			if f != cfg.null {
				args[i] = f
			}
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return 0, fmt.Errorf("line %d of %s: %w", line, cfg.file, conn.MapError(err, ""))
		}
	}
	res, err := stmt.ExecContext(ctx)
	if err != nil {
		return 0, conn.MapError(err, "")
	}
	rows, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing: %w", conn.MapError(err, ""))
	}
	return rows, nil
}
