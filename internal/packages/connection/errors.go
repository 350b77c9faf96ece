package connection

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	mssql "github.com/microsoft/go-mssqldb"
)

// Error is an error a database server returned, in the same shape
// whichever the driver.
type Error struct {
	Connection string // the connection's name
	Kind       Kind
	// Code is the server's code for the error: PostgreSQL's SQLSTATE
	// ("42601"), MySQL's error number ("1064"), SQL Server's error number
	// ("102").
	Code string
	// SQLState is the SQLSTATE where the server sends one besides Code
	// (MySQL); for PostgreSQL it is Code.
	SQLState string
	Message  string // the server's message
	Detail   string // PostgreSQL's detail and hint, when it gives them
	// Line is the 1-based line of the statement the error is at, 0 when
	// the server does not say; Column is the 1-based character on that
	// line, 0 when unknown (only PostgreSQL gives it).
	Line, Column int
	Err          error // the driver's error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s connection %q: %s", e.Kind, e.Connection, e.Message)
	if e.Detail != "" {
		b.WriteString(" (" + e.Detail + ")")
	}
	switch {
	case mysqlAtLine.MatchString(e.Message): // MySQL's message says it already
	case e.Line > 0 && e.Column > 0:
		fmt.Fprintf(&b, " at line %d, column %d", e.Line, e.Column)
	case e.Line > 0:
		fmt.Fprintf(&b, " at line %d", e.Line)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " [%s %s]", codeName(e.Kind), e.Code)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func codeName(k Kind) string {
	switch k {
	case Postgres:
		return "SQLSTATE"
	case MySQL:
		return "MySQL error"
	case SQLServer:
		return "SQL Server error"
	}
	return "code"
}

// MapError turns a driver's error into an *Error: the server's message,
// code, and line (and column) in statement when the driver tells where.
// Other errors (a refused connection, a cancelled context) come back as
// they were, with the connection named.
func (c Connection) MapError(err error, statement string) error {
	if err == nil {
		return nil
	}
	var existing *Error
	if errors.As(err, &existing) {
		return err
	}
	var (
		pgErr *pgconn.PgError
		myErr *mysql.MySQLError
		msErr mssql.Error // go-mssqldb returns it as a value
	)
	e := &Error{Connection: c.Name, Kind: c.Kind, Err: err}
	switch {
	case errors.As(err, &pgErr):
		e.Code, e.SQLState, e.Message = pgErr.Code, pgErr.Code, pgErr.Message
		e.Detail = strings.TrimSpace(strings.Join(nonEmpty(pgErr.Detail, pgErr.Hint), "; "))
		if pgErr.Position > 0 {
			e.Line, e.Column = lineColumn(statement, int(pgErr.Position))
		}
	case errors.As(err, &myErr):
		e.Code, e.SQLState, e.Message = strconv.Itoa(int(myErr.Number)), strings.TrimRight(string(myErr.SQLState[:]), "\x00"), myErr.Message
		e.Line = mysqlLine(myErr.Message)
	case errors.As(err, &msErr):
		mapSQLServer(e, msErr)
	default:
		return &otherError{msg: fmt.Sprintf("%s connection %q: %s", c.Kind, c.Name, redact(err.Error(), c.Password)), err: err}
	}
	e.Message = redact(e.Message, c.Password)
	return e
}

// otherError names the connection in an error that is not the server's,
// keeps it matchable (errors.Is(err, context.Canceled)), and shows no
// password.
type otherError struct {
	msg string
	err error
}

func (e *otherError) Error() string { return e.msg }
func (e *otherError) Unwrap() error { return e.err }

func mapSQLServer(e *Error, err mssql.Error) {
	e.Code, e.Message, e.Line = strconv.Itoa(int(err.Number)), err.Message, int(err.LineNo)
	// SQL Server sends the errors of a batch together: the first is
	// usually the cause, the last (the one in the fields) its outcome.
	if len(err.All) > 1 {
		var msgs []string
		for _, each := range err.All {
			msgs = append(msgs, each.Message)
		}
		e.Detail = strings.Join(msgs[:len(msgs)-1], "; ")
	}
}

// lineColumn converts PostgreSQL's 1-based character position in the
// statement into a 1-based line and column.
func lineColumn(statement string, position int) (line, column int) {
	line, column = 1, 1
	at := 1 // the character r is
	for _, r := range statement {
		if at >= position {
			break
		}
		if r == '\n' {
			line, column = line+1, 1
		} else {
			column++
		}
		at++
	}
	return line, column
}

var mysqlAtLine = regexp.MustCompile(`at line (\d+)\s*$`)

// mysqlLine reads the line MySQL and MariaDB put at the end of a syntax
// error's message ("... near 'FORM t' at line 2"); 0 when it is not there.
func mysqlLine(msg string) int {
	m := mysqlAtLine.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
