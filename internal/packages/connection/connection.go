package connection

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/scaleout/scaleout/internal/suggest"
)

// Kind is what a connection connects to.
type Kind string

// The kinds of connection.
const (
	Postgres  Kind = "postgres"  // PostgreSQL, through pgx
	MySQL     Kind = "mysql"     // MySQL or MariaDB, through go-sql-driver/mysql
	SQLServer Kind = "sqlserver" // SQL Server, through go-mssqldb
	S3        Kind = "s3"        // an S3 bucket
)

// Kinds lists every kind, in the order error messages name them.
var Kinds = []Kind{Postgres, MySQL, SQLServer, S3}

// IsDatabase tells the kinds that open a database/sql pool.
func (k Kind) IsDatabase() bool { return k == Postgres || k == MySQL || k == SQLServer }

// DefaultPort is the server's usual port, used when a connection gives
// none; 0 for s3.
func (k Kind) DefaultPort() int {
	switch k {
	case Postgres:
		return 5432
	case MySQL:
		return 3306
	case SQLServer:
		return 1433
	}
	return 0
}

// Connection is one named connection, its values resolved (parameters and
// environment variables already put in).
type Connection struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`

	// Databases (postgres, mysql, sqlserver).
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"` // 0: the kind's DefaultPort
	Database string `json:"database,omitempty"`
	User     string `json:"user,omitempty"`
	Password Secret `json:"password,omitempty"`
	// Options are the driver's own settings, added to the DSN: sslmode for
	// pgx, tls or charset for MySQL, encrypt for SQL Server, and so on.
	Options map[string]string `json:"options,omitempty"`

	// S3.
	Bucket    string `json:"bucket,omitempty"`
	Region    string `json:"region,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"` // an S3-compatible service's URL; empty for AWS
	PathStyle bool   `json:"path_style,omitempty"`
}

// Secret is a sensitive value: it shows as "***" wherever it is printed,
// logged or marshalled, and as "" when empty. Use string(s) for the value.
type Secret string

const masked = "***"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return masked
}

// GoString keeps %#v (of the Secret or of a struct that holds it) from
// showing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue keeps slog from showing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoding/json and others from showing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// port is the connection's port, its kind's default when unset.
func (c Connection) port() int {
	if c.Port == 0 {
		return c.Kind.DefaultPort()
	}
	return c.Port
}

// Addr is host:port, the default port put in.
func (c Connection) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.port())) }

// String describes the connection without its password, for messages:
// postgres "sales" scaleout@db.example.com:5432/sales.
func (c Connection) String() string {
	var where string
	switch {
	case c.Kind == S3:
		where = "s3://" + c.Bucket
		if c.Endpoint != "" {
			where += " at " + c.Endpoint
		}
	default:
		where = c.Addr() + "/" + c.Database
		if c.User != "" {
			where = c.User + "@" + where
		}
	}
	return fmt.Sprintf("%s %q %s", c.Kind, c.Name, where)
}

// GoString keeps %#v from showing the password (it shows String's text).
func (c Connection) GoString() string { return "connection.Connection{" + c.String() + "}" }

// LogValue logs the connection's fields, the password left out.
func (c Connection) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("name", c.Name), slog.String("kind", string(c.Kind))}
	if c.Kind == S3 {
		attrs = append(attrs, slog.String("bucket", c.Bucket), slog.String("region", c.Region))
		if c.Endpoint != "" {
			attrs = append(attrs, slog.String("endpoint", c.Endpoint))
		}
		return slog.GroupValue(attrs...)
	}
	attrs = append(attrs, slog.String("host", c.Host), slog.Int("port", c.port()),
		slog.String("database", c.Database), slog.String("user", c.User))
	return slog.GroupValue(attrs...)
}

// reservedOptions are the settings a connection's fields set: an option of
// that name would contradict the field or hide it.
var reservedOptions = map[Kind][]string{
	Postgres:  {"host", "hostaddr", "port", "dbname", "user", "password", "passfile"},
	MySQL:     {"user", "password", "passwd", "net", "addr", "dbname"},
	SQLServer: {"server", "host", "port", "database", "user id", "user", "password"},
}

// Validate checks the connection and returns every problem at once, each
// saying which field and what to do.
func (c Connection) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("connection %q: "+format, append([]any{c.Name}, args...)...))
	}
	if c.Name == "" {
		add("name is missing")
	}
	switch {
	case c.Kind == "":
		add("kind is missing (known: %s)", kindList())
		return errors.Join(errs...)
	case !slices.Contains(Kinds, c.Kind):
		msg := fmt.Sprintf("unknown kind %q (known: %s)", c.Kind, kindList())
		if near := suggest.Closest(string(c.Kind), kindNames()); near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		}
		add("%s", msg)
		return errors.Join(errs...)
	}

	if c.Kind == S3 {
		if c.Bucket == "" {
			add("bucket is missing")
		}
		if c.Region == "" {
			add("region is missing (the bucket's AWS region; S3-compatible services take any, such as us-east-1)")
		}
		if c.Endpoint != "" {
			if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add("endpoint %q is not an http:// or https:// URL", c.Endpoint)
			}
		}
		for field, set := range map[string]bool{"host": c.Host != "", "port": c.Port != 0, "database": c.Database != "",
			"user": c.User != "", "password": c.Password != "", "options": len(c.Options) > 0} {
			if set {
				add("%s is for database connections, not s3 (an s3 connection takes bucket, region, endpoint and path_style)", field)
			}
		}
		return sortedJoin(errs)
	}

	if c.Host == "" {
		add("host is missing")
	}
	if c.Port < 0 || c.Port > 65535 {
		add("port %d is out of range: give 1 to 65535, or none for %s's %d", c.Port, c.Kind, c.Kind.DefaultPort())
	}
	if c.User == "" {
		add("user is missing")
	}
	for field, set := range map[string]bool{"bucket": c.Bucket != "", "region": c.Region != "",
		"endpoint": c.Endpoint != "", "path_style": c.PathStyle} {
		if set {
			add("%s is for s3 connections, not %s", field, c.Kind)
		}
	}
	for key := range c.Options {
		if slices.Contains(reservedOptions[c.Kind], strings.ToLower(key)) {
			add("options.%s: set the connection's own field instead of the option", key)
		}
	}
	if len(errs) == 0 {
		if _, err := c.dsn(); err != nil {
			add("%v", err)
		}
	}
	return sortedJoin(errs)
}

// sortedJoin joins errors in a stable order (maps above are walked in
// random order).
func sortedJoin(errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

func kindNames() []string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return names
}

func kindList() string { return strings.Join(kindNames(), ", ") }
