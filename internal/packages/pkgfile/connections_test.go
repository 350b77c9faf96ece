package pkgfile_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

func TestConnections(t *testing.T) {
	t.Parallel()
	const head = "name: x\nparameters: {pw: {type: string, sensitive: true}, host: {type: string}, plain: {type: string}}\n"
	for _, tc := range []struct {
		name string
		doc  string
		want []string // each the whole of a problem's "path: message"; none: valid
	}{
		{"valid, values from parameters", head +
			"connections:\n  db: {kind: postgres, host: '${params.host}', port: 5433, database: 'd_${system.package}', user: u, password: '${params.pw}', options: {sslmode: disable}}\n" +
			"  files: {kind: s3, bucket: b, region: us-east-1, path_style: true}\n" +
			"tasks: [{name: a, type: query, with: {connection: db, statement: SELECT 1}}]\n", nil},
		{"interpolated kind and port", "name: x\n" +
			"parameters: {pw: {type: string, sensitive: true}, kind: {type: string}, port: {type: int}}\n" +
			"connections: {db: {kind: '${params.kind}', host: h, port: '${params.port}', user: u, password: '${params.pw}'}}\n" +
			"tasks: [{name: a, type: query, with: {connection: db}}]\n", nil},
		{"misspelt kind", head + "connections: {db: {kind: postgress, host: h, user: u}}\ntasks: [{name: a, type: fail}]\n",
			[]string{`connections.db.kind: unknown kind "postgress" (known: postgres, mysql, sqlserver, s3); did you mean "postgres"?`}},
		{"no kind", head + "connections: {db: {host: h}}\ntasks: [{name: a, type: fail}]\n",
			[]string{`connections.db.kind: missing: give the connection's kind (known: postgres, mysql, sqlserver, s3)`}},
		{"missing fields", head + "connections: {db: {kind: mysql}, files: {kind: s3}}\ntasks: [{name: a, type: fail}]\n",
			[]string{
				`connections.db.host: missing: give the server's host name or address`,
				`connections.db.user: missing: give the user to log in as`,
				`connections.files.bucket: missing: name the bucket`,
				`connections.files.region: missing: give the bucket's AWS region (S3-compatible services take any, such as us-east-1)`,
			}},
		{"fields of the other kind", head +
			"connections: {db: {kind: sqlserver, host: h, user: u, bucket: b}, files: {kind: s3, bucket: b, region: r, host: h, options: {a: b}}}\n" +
			"tasks: [{name: a, type: fail}]\n",
			[]string{
				`connections.db.bucket: is for s3 connections, not sqlserver (a sqlserver connection takes host, port, database, user, password and options)`,
				`connections.files.host: is for database connections, not s3 (an s3 connection takes bucket, region, endpoint and path_style)`,
				`connections.files.options: is for database connections, not s3 (an s3 connection takes bucket, region, endpoint and path_style)`,
			}},
		{"bad literals", head + "connections: {db: {kind: postgres, host: h, user: u, port: '99999'}, f: {kind: s3, bucket: b, region: r, path_style: maybe}}\ntasks: [{name: a, type: fail}]\n",
			[]string{
				`connections.db.port: "99999": give a port from 1 to 65535, or none for postgres's 5432`,
				`connections.f.path_style: "maybe": want true or false`,
			}},
		{"literal password", head + "connections: {db: {kind: postgres, host: h, user: u, password: hunter2}}\ntasks: [{name: a, type: fail}]\n",
			[]string{`connections.db.password: a literal password is refused: passwords must come from a sensitive parameter, which is sealed at rest and shown as *** everywhere; ` +
				`declare a sensitive parameter (parameters: {db_password: {type: string, sensitive: true}}) and write password: ${params.db_password}`}},
		{"password from a parameter that is not sensitive", head + "connections: {db: {kind: postgres, host: h, user: u, password: '${params.plain}'}}\ntasks: [{name: a, type: fail}]\n",
			[]string{`connections.db.password: params.plain is not sensitive: passwords must come from a sensitive parameter; declare it with sensitive: true`}},
		{"password from a system value", head + "connections: {db: {kind: postgres, host: h, user: u, password: '${system.package}'}}\ntasks: [{name: a, type: fail}]\n",
			[]string{`connections.db.password: passwords must come from a sensitive parameter; declare a sensitive parameter (parameters: {db_password: {type: string, sensitive: true}}) and write password: ${params.db_password}`}},
		{"variables and unknown parameters", head + "variables: {v: {type: string}}\nconnections: {db: {kind: postgres, host: '${vars.v}', user: '${params.usr}'}}\ntasks: [{name: a, type: fail}]\n",
			[]string{
				`connections.db.host: vars.v: a connection is resolved when the run starts, before any task: it may read params and system, not vars`,
				`connections.db.user: params.usr: no such parameter (declared: host, plain, pw)`,
			}},
		{"unknown connection", head + "connections: {sales: {kind: postgres, host: h, user: u}, stock: {kind: mysql, host: h, user: u}}\n" +
			"tasks: [{name: a, type: query, with: {connection: sale}}]\n",
			[]string{`tasks[0] "a".with.connection: unknown connection "sale" (known: sales, stock); did you mean "sales"?`}},
		{"to_connection, known and of the right kind", head + "connections: {in: {kind: s3, bucket: a, region: r}, out: {kind: s3, bucket: b, region: r}}\n" +
			"tasks: [{name: a, type: objects, with: {connection: in, to_connection: out, key: k}}]\n", nil},
		{"to_connection unknown, of the wrong kind, or of an unknown kind", "name: x\n" +
			"parameters: {pw: {type: string, sensitive: true}, k: {type: string}}\n" +
			"connections: {inbox: {kind: s3, bucket: a, region: r}, archive: {kind: s3, bucket: b, region: r},\n" +
			"  db: {kind: postgres, host: h, user: u}, any: {kind: '${params.k}', host: h, user: u}}\n" +
			"tasks: [{name: a, type: objects, with: {connection: inbox, to_connection: archiv, key: k}},\n" +
			"  {name: b, type: objects, with: {connection: inbox, to_connection: db, key: k}},\n" +
			"  {name: c, type: objects, with: {connection: inbox, to_connection: any, key: k}},\n" +
			"  {name: d, type: objects, with: {connection: inbox, to_connection: '${params.k}', key: k}}]\n",
			[]string{
				`tasks[0] "a".with.to_connection: unknown connection "archiv" (known: any, archive, db, inbox); did you mean "archive"?`,
				`tasks[1] "b".with.to_connection: connection "db" is of kind postgres; a objects task needs one of kind s3`,
			}},
		{"no connections at all", head + "tasks: [{name: a, type: query, with: {connection: sales}}]\n",
			[]string{`tasks[0] "a".with.connection: unknown connection "sales": the package defines no connections; declare it under connections`}},
		{"connection of the wrong kind", head + "connections: {files: {kind: s3, bucket: b, region: r}}\n" +
			"tasks: [{name: a, type: query, with: {connection: files}}]\n",
			[]string{`tasks[0] "a".with.connection: connection "files" is of kind s3; a query task needs one of kind postgres, mysql, sqlserver`}},
		{"transactions", head + "connections: {files: {kind: s3, bucket: b, region: r}}\n" +
			"tasks: [{name: a, type: sequence, transaction: {connection: files}, tasks: [{name: b, type: fail}]},\n" +
			"  {name: c, type: sequence, transaction: {connection: db}, tasks: [{name: d, type: fail}]},\n" +
			"  {name: e, type: fail, transaction: {connection: files}}]\n",
			[]string{
				`tasks[0] "a".transaction.connection: connection "files" is of kind s3: a transaction needs a database connection (postgres, mysql or sqlserver)`,
				`tasks[1] "c".transaction.connection: unknown connection "db" (known: files)`,
				`tasks[2] "e".transaction: only a sequence takes a transaction (an sql task takes with.transaction: true)`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := pkgfile.Load([]byte(tc.doc), "", connectionTypes())
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var got []string
			var verr *pkgfile.ValidationError
			require.ErrorAs(t, err, &verr)
			for _, p := range verr.Problems {
				got = append(got, p.String())
			}
			require.Equal(t, tc.want, got, strings.Join(got, "\n"))
		})
	}
}
