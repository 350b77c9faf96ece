package connection_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
)

// nastyPassword has a character of every sort that a DSN or a SQL literal
// treats specially.
const nastyPassword = `p@ss:w/rd?#%&='"\ ;é{}[]()+!$,`

func pg() connection.Connection {
	return connection.Connection{Name: "sales", Kind: connection.Postgres, Host: "db.example.com",
		Database: "sales", User: "loader", Password: "s3cret-value"}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*connection.Connection)
		want   []string // each a substring of the error; none: valid
	}{
		{"valid postgres", func(*connection.Connection) {}, nil},
		{"valid mysql with port", func(c *connection.Connection) { c.Kind, c.Port = connection.MySQL, 3307 }, nil},
		{"valid sqlserver with options", func(c *connection.Connection) {
			c.Kind, c.Options = connection.SQLServer, map[string]string{"encrypt": "disable"}
		}, nil},
		{"valid s3", func(c *connection.Connection) {
			*c = connection.Connection{Name: "files", Kind: connection.S3, Bucket: "in", Region: "eu-west-1",
				Endpoint: "http://127.0.0.1:9000", PathStyle: true}
		}, nil},
		{"kind missing", func(c *connection.Connection) { c.Kind = "" },
			[]string{`connection "sales": kind is missing (known: postgres, mysql, sqlserver, s3)`}},
		{"kind misspelt", func(c *connection.Connection) { c.Kind = "postgress" },
			[]string{`connection "sales": unknown kind "postgress" (known: postgres, mysql, sqlserver, s3); did you mean "postgres"?`}},
		{"kind unknown", func(c *connection.Connection) { c.Kind = "oracle" },
			[]string{`unknown kind "oracle" (known: postgres, mysql, sqlserver, s3)`}},
		{"fields missing", func(c *connection.Connection) { c.Host, c.User, c.Name = "", "", "" },
			[]string{`name is missing`, `host is missing`, `user is missing`}},
		{"port too big", func(c *connection.Connection) { c.Port = 70000 },
			[]string{`port 70000 is out of range: give 1 to 65535, or none for postgres's 5432`}},
		{"port negative", func(c *connection.Connection) { c.Kind, c.Port = connection.MySQL, -1 },
			[]string{`port -1 is out of range: give 1 to 65535, or none for mysql's 3306`}},
		{"s3 fields on a database", func(c *connection.Connection) { c.Bucket = "in" },
			[]string{`bucket is for s3 connections, not postgres`}},
		{"option hides a field", func(c *connection.Connection) { c.Options = map[string]string{"password": "x"} },
			[]string{`options.password: set the connection's own field instead of the option`}},
		{"bad mysql option", func(c *connection.Connection) {
			c.Kind, c.Options = connection.MySQL, map[string]string{"parseTime": "maybe"}
		}, []string{`building the MySQL DSN`}},
		{"s3 missing and wrong fields", func(c *connection.Connection) {
			*c = connection.Connection{Name: "files", Kind: connection.S3, Endpoint: "localhost:9000", User: "u"}
		}, []string{`bucket is missing`, `region is missing`, `endpoint "localhost:9000" is not an http:// or https:// URL`,
			`user is for database connections, not s3`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := pg()
			tc.change(&c)
			err := c.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// The password shows nowhere but in the DSN.
func TestPasswordNeverShown(t *testing.T) {
	t.Parallel()
	c := pg()
	c.Password = nastyPassword
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("opening", "connection", c, "password", c.Password)
	body, err := json.Marshal(c)
	require.NoError(t, err)
	for what, s := range map[string]string{
		"String": c.String(), "%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%v of the password": fmt.Sprintf("%v", []connection.Secret{c.Password}), "%#v of the password": fmt.Sprintf("%#v", c.Password),
		"slog": logs.String(), "JSON": string(body),
	} {
		assert.NotContains(t, s, "p@ss", what)
	}
	assert.Equal(t, `postgres "sales" loader@db.example.com:5432/sales`, c.String())
	assert.Contains(t, logs.String(), `"connection":{"name":"sales","kind":"postgres","host":"db.example.com","port":5432,"database":"sales","user":"loader"}`)
	assert.Contains(t, string(body), `"password":"***"`)
}

// Each DSN reads back, with the driver's own parser, as the fields it was
// built from, whatever the password holds.
func TestDSNEscapesPasswords(t *testing.T) {
	t.Parallel()
	for _, password := range []connection.Secret{nastyPassword, "plain", "@@@", "a/b/c", "?x=1&y=2", "%41", ":", " lead and trail ", `\`} {
		for _, kind := range []connection.Kind{connection.Postgres, connection.MySQL, connection.SQLServer} {
			t.Run(fmt.Sprintf("%s %q", kind, string(password)), func(t *testing.T) {
				t.Parallel()
				c := connection.Connection{Name: "c", Kind: kind, Host: "db.example.com", Port: 4000,
					Database: "my db/x", User: "us@er:1", Password: password}
				if kind == connection.MySQL {
					// Its DSN has no escaping: the user ends at the first ':', the
					// database starts after the last '/'. A password may hold both.
					c.Database, c.User = "my db", "us@er"
				}
				require.NoError(t, c.Validate())
				driver, dsn, err := c.DSN()
				require.NoError(t, err)
				switch kind {
				case connection.Postgres:
					assert.Equal(t, "pgx", driver)
					cfg, err := pgx.ParseConfig(dsn)
					require.NoError(t, err)
					assert.Equal(t, string(password), cfg.Password)
					assert.Equal(t, "us@er:1", cfg.User)
					assert.Equal(t, "my db/x", cfg.Database)
					assert.Equal(t, "db.example.com", cfg.Host)
					assert.Equal(t, uint16(4000), cfg.Port)
				case connection.MySQL:
					assert.Equal(t, "mysql", driver)
					cfg, err := mysql.ParseDSN(dsn)
					require.NoError(t, err)
					assert.Equal(t, string(password), cfg.Passwd)
					assert.Equal(t, "us@er", cfg.User)
					assert.Equal(t, "my db", cfg.DBName)
					assert.Equal(t, "db.example.com:4000", cfg.Addr)
					assert.True(t, cfg.ParseTime)
				case connection.SQLServer:
					assert.Equal(t, "sqlserver", driver)
					cfg, err := msdsn.Parse(dsn)
					require.NoError(t, err)
					assert.Equal(t, string(password), cfg.Password)
					assert.Equal(t, "us@er:1", cfg.User)
					assert.Equal(t, "my db/x", cfg.Database)
					assert.Equal(t, "db.example.com", cfg.Host)
					assert.Equal(t, uint64(4000), cfg.Port)
				}
			})
		}
	}
}

func TestDSNOptions(t *testing.T) {
	t.Parallel()
	c := pg()
	c.Options = map[string]string{"sslmode": "disable", "search_path": "etl,public", "application_name": "load & go+1"}
	_, dsn, err := c.DSN()
	require.NoError(t, err)
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	assert.Nil(t, cfg.TLSConfig, "sslmode=disable")
	assert.Equal(t, "etl,public", cfg.RuntimeParams["search_path"])
	assert.Equal(t, "load & go+1", cfg.RuntimeParams["application_name"])

	c = connection.Connection{Name: "m", Kind: connection.MySQL, Host: "h", User: "u",
		Options: map[string]string{"parseTime": "false", "time_zone": "'+00:00'", "timeout": "5s"}}
	_, dsn, err = c.DSN()
	require.NoError(t, err)
	my, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	assert.False(t, my.ParseTime, "the option wins over the default")
	assert.Equal(t, "'+00:00'", my.Params["time_zone"])
	assert.Equal(t, "5s", my.Timeout.String())

	c = connection.Connection{Name: "ms", Kind: connection.SQLServer, Host: "h", User: "u", Database: "d",
		Options: map[string]string{"encrypt": "disable", "app name": "scaleout"}}
	_, dsn, err = c.DSN()
	require.NoError(t, err)
	ms, err := msdsn.Parse(dsn)
	require.NoError(t, err)
	assert.Equal(t, msdsn.Encryption(msdsn.EncryptionDisabled), ms.Encryption)
	assert.Equal(t, "scaleout", ms.AppName)
	assert.Equal(t, uint64(1433), ms.Port, "the default port")

	_, _, err = connection.Connection{Name: "f", Kind: connection.S3}.DSN()
	require.EqualError(t, err, `connection "f": an s3 connection has no DSN: it is not a database`)

	err = connection.Connection{Name: "m", Kind: connection.MySQL, Host: "h", User: "a:b"}.Validate()
	require.EqualError(t, err, `connection "m": building the MySQL DSN: the user, password or database does not read back as given `+
		`(go-sql-driver/mysql's DSN cannot carry a ':' in the user or a '/' in the database)`)
}

func TestMapErrorWithoutServer(t *testing.T) {
	t.Parallel()
	ms := connection.Connection{Name: "warehouse", Kind: connection.SQLServer, Host: "h", User: "u"}
	stmt := "SELECT 1;\nSELEC 2;"
	batch := mssql.Error{Number: 102, State: 1, Class: 15, Message: "Incorrect syntax near '2'.", LineNo: 2,
		All: []mssql.Error{
			{Number: 102, Class: 15, Message: "Incorrect syntax near '2'.", LineNo: 2},
		}}
	for name, driverErr := range map[string]error{
		"value":   batch,
		"wrapped": fmt.Errorf("running: %w", batch),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var e *connection.Error
			require.ErrorAs(t, ms.MapError(driverErr, stmt), &e)
			assert.Equal(t, "102", e.Code)
			assert.Equal(t, 2, e.Line)
			assert.Equal(t, "Incorrect syntax near '2'.", e.Message)
			assert.Equal(t, `sqlserver connection "warehouse": Incorrect syntax near '2'. at line 2 [SQL Server error 102]`, e.Error())
			var back mssql.Error
			assert.ErrorAs(t, e, &back, "the driver's error stays reachable")
		})
	}

	t.Run("several errors in a batch", func(t *testing.T) {
		t.Parallel()
		err := mssql.Error{Number: 3902, Message: "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.", LineNo: 3,
			All: []mssql.Error{{Number: 547, Message: "The INSERT statement conflicted with the FOREIGN KEY constraint."},
				{Number: 3902, Message: "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.", LineNo: 3}}}
		var e *connection.Error
		require.ErrorAs(t, ms.MapError(err, ""), &e)
		assert.Equal(t, "3902", e.Code)
		assert.Equal(t, "The INSERT statement conflicted with the FOREIGN KEY constraint.", e.Detail)
	})

	t.Run("postgres position to line and column", func(t *testing.T) {
		t.Parallel()
		c := pg()
		stmt := "SELECT 'é';\nSELECT *\n  FORM t"
		pgErr := &pgconn.PgError{Severity: "ERROR", Code: "42601", Message: `syntax error at or near "FORM"`,
			Position: int32(len([]rune("SELECT 'é';\nSELECT *\n  ")) + 1)}
		var e *connection.Error
		require.ErrorAs(t, c.MapError(pgErr, stmt), &e)
		assert.Equal(t, 3, e.Line)
		assert.Equal(t, 3, e.Column)
		assert.Equal(t, "42601", e.SQLState)
	})

	t.Run("mysql line", func(t *testing.T) {
		t.Parallel()
		c := connection.Connection{Name: "m", Kind: connection.MySQL}
		var e *connection.Error
		require.ErrorAs(t, c.MapError(&mysql.MySQLError{Number: 1064, SQLState: [5]byte{'4', '2', '0', '0', '0'},
			Message: "You have an error in your SQL syntax; check the manual near 'FORM t' at line 12"}, ""), &e)
		assert.Equal(t, 12, e.Line)
		assert.Equal(t, "1064", e.Code)
		assert.Equal(t, "42000", e.SQLState)
	})

	t.Run("other errors are named, and keep no password", func(t *testing.T) {
		t.Parallel()
		c := pg()
		err := c.MapError(errors.New("dial tcp: refused for s3cret-value"), "")
		require.EqualError(t, err, `postgres connection "sales": dial tcp: refused for ***`)
		require.NoError(t, c.MapError(nil, ""))
		require.ErrorIs(t, c.MapError(context.Canceled, ""), context.Canceled)
	})
}

func TestSetWithoutServer(t *testing.T) {
	t.Parallel()
	files := connection.Connection{Name: "files", Kind: connection.S3, Bucket: "in", Region: "us-east-1"}
	set, err := connection.NewSet([]connection.Connection{pg(), files}, connection.Limits{})
	require.NoError(t, err)
	assert.Equal(t, []string{"files", "sales"}, set.Names())

	_, err = set.DB(t.Context(), "sale")
	require.ErrorIs(t, err, connection.ErrUnknown)
	require.EqualError(t, err, `unknown connection "sale" (known: files, sales); did you mean "sales"?`)

	_, err = set.DB(t.Context(), "files")
	require.EqualError(t, err, `connection "files" is an s3 connection, not a database: a database task needs a postgres, mysql or sqlserver connection`)
	got, err := set.Connection("files")
	require.NoError(t, err)
	assert.Equal(t, "in", got.Bucket)

	require.NoError(t, set.Close())
	require.NoError(t, set.Close(), "twice is fine")
	_, err = set.DB(t.Context(), "sales")
	require.ErrorIs(t, err, connection.ErrClosed)

	_, err = connection.NewSet([]connection.Connection{pg(), pg(), {Name: "x", Kind: "mysq"}}, connection.Limits{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `connection "sales" is defined twice`)
	assert.Contains(t, err.Error(), `did you mean "mysql"?`)
}
