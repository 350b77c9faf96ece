package connection

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"  // registers the "pgx" database/sql driver
	_ "github.com/microsoft/go-mssqldb" // registers the "sqlserver" database/sql driver
	"github.com/microsoft/go-mssqldb/msdsn"
)

// Driver is the database/sql driver name of a database kind.
func (k Kind) Driver() string {
	switch k {
	case Postgres:
		return "pgx"
	case MySQL:
		return "mysql"
	case SQLServer:
		return "sqlserver"
	}
	return ""
}

// DSN returns the connection's database/sql driver name and data source
// name, the password escaped as that driver reads it. Each DSN is parsed
// back with the driver's own parser, so that a value the format cannot
// carry is an error here rather than a wrong login at the server.
//
// The DSN holds the password: never log or show it (show String instead).
func (c Connection) DSN() (driver, dsn string, err error) {
	if dsn, err = c.dsn(); err != nil {
		return "", "", fmt.Errorf("connection %q: %w", c.Name, err)
	}
	return c.Kind.Driver(), dsn, nil
}

func (c Connection) dsn() (dsn string, err error) {
	switch c.Kind {
	case Postgres:
		dsn, err = c.postgresDSN()
	case MySQL:
		dsn, err = c.mysqlDSN()
	case SQLServer:
		dsn, err = c.sqlserverDSN()
	default:
		return "", fmt.Errorf("an %s connection has no DSN: it is not a database", c.Kind)
	}
	return dsn, err
}

// postgresDSN is a postgres:// URL, which pgx reads: the user, password
// and database percent-encoded, the options as query parameters (libpq's
// settings such as sslmode, the rest sent to the server as run-time
// parameters, such as search_path).
func (c Connection) postgresDSN() (string, error) {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(c.User, string(c.Password)),
		Host:     c.Addr(),
		Path:     "/" + c.Database,
		RawQuery: query(c.Options),
	}
	dsn := u.String()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("building the PostgreSQL DSN: %s", redact(err.Error(), c.Password))
	}
	if cfg.User != c.User || cfg.Password != string(c.Password) || cfg.Database != c.Database {
		return "", fmt.Errorf("building the PostgreSQL DSN: the user, password or database does not read back as given")
	}
	return dsn, nil
}

// mysqlDSN is go-sql-driver/mysql's user:password@tcp(host:port)/database
// form, with parseTime on (DATETIME columns scan into time.Time) unless the
// options say otherwise. That form needs no escaping of the password: the
// driver splits at the last @ before the last /.
func (c Connection) mysqlDSN() (string, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = c.User, string(c.Password), "tcp", c.Addr(), c.Database
	cfg.ParseTime = true
	dsn := cfg.FormatDSN()
	if q := query(c.Options); q != "" {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + q
	}
	back, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("building the MySQL DSN: %s", redact(err.Error(), c.Password))
	}
	if back.User != c.User || back.Passwd != string(c.Password) || back.DBName != c.Database {
		return "", fmt.Errorf("building the MySQL DSN: the user, password or database does not read back as given " +
			"(go-sql-driver/mysql's DSN cannot carry a ':' in the user or a '/' in the database)")
	}
	return dsn, nil
}

// sqlserverDSN is go-mssqldb's sqlserver:// URL: the user and password
// percent-encoded, the database and the options (encrypt, app name, ...)
// as query parameters.
func (c Connection) sqlserverDSN() (string, error) {
	opts := maps.Clone(c.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	if c.Database != "" {
		opts["database"] = c.Database
	}
	u := url.URL{
		Scheme:   "sqlserver",
		User:     url.UserPassword(c.User, string(c.Password)),
		Host:     c.Addr(),
		RawQuery: query(opts),
	}
	dsn := u.String()
	cfg, err := msdsn.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("building the SQL Server DSN: %s", redact(err.Error(), c.Password))
	}
	if cfg.User != c.User || cfg.Password != string(c.Password) || cfg.Database != c.Database {
		return "", fmt.Errorf("building the SQL Server DSN: the user, password or database does not read back as given")
	}
	return dsn, nil
}

// query encodes options as a URL query, keys in order.
func query(options map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(options)) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(queryEscape(k) + "=" + queryEscape(options[k]))
	}
	return b.String()
}

// queryEscape is url.QueryEscape with spaces as %20: pgx reads a '+' in
// its URL as a '+'. (A '+' in the value is %2B either way.)
func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// redact takes a password out of a driver's message.
func redact(msg string, password Secret) string {
	for _, form := range []string{string(password), url.QueryEscape(string(password)), url.PathEscape(string(password))} {
		if len(form) >= 3 {
			msg = strings.ReplaceAll(msg, form, masked)
		}
	}
	return msg
}
