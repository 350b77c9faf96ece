package catalogtest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

// A package that uses the project's connection and one that declares its
// own of the same name.
const (
	usesProjectConn = `name: load
tasks:
  - name: count
    type: sql
    with: {connection: warehouse, statement: "SELECT count(*) FROM sales"}
`
	ownConn = `name: own
parameters:
  own_password: {type: string, sensitive: true}
connections:
  warehouse: {kind: postgres, host: elsewhere, user: me, password: "${params.own_password}"}
tasks:
  - name: count
    type: sql
    with: {connection: warehouse, statement: "SELECT 1"}
`
)

func connProject() catalog.Bundle {
	return catalog.Bundle{
		Packages: map[string]string{"load": usesProjectConn, "own": ownConn},
		Parameters: map[string]pkgfile.Parameter{
			"pg_host":     {Type: pkgfile.String, Default: "db.internal"},
			"pg_password": {Type: pkgfile.String, Sensitive: true},
		},
		Connections: map[string]pkgfile.Connection{
			"warehouse": {Kind: "postgres", Host: "${params.pg_host}", Database: "dw", User: "etl", Password: "${params.pg_password}"},
		},
	}
}

// testProjectConnections: a project's connections (SSIS's project
// connection managers) are every package's own unless a package declares
// one of the same name; they are validated at deploy with the project's
// parameters, kept with the version, shown by DescribeProject and merged
// into the definition a run gets.
func testProjectConnections(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 0)
	ctx := context.Background()

	_, err := s.Deploy(ctx, folder, "dw", connProject(), "")
	require.NoError(t, err)

	p, err := s.DescribeProject(ctx, folder, "dw")
	require.NoError(t, err)
	require.Equal(t, "${params.pg_host}", p.Connections["warehouse"].Host, "described as deployed, references and all")
	require.Equal(t, "${params.pg_password}", p.Connections["warehouse"].Password)

	r, err := s.Resolve(ctx, folder, "dw", "load", nil, map[string]any{"pg_password": "hunter2"})
	require.NoError(t, err)
	var def pkgfile.Package
	require.NoError(t, json.Unmarshal(r.Definition, &def))
	require.Equal(t, "postgres", def.Connections["warehouse"].Kind, "the project's connection merged in")
	require.Equal(t, "${params.pg_host}", def.Connections["warehouse"].Host)
	require.Equal(t, pkgfile.String, def.Parameters["pg_host"].Type, "with the parameters it reads")
	require.NotContains(t, string(r.Definition), "hunter2")
	require.Equal(t, []string{"pg_password"}, r.Sensitive)

	r, err = s.Resolve(ctx, folder, "dw", "own", nil, map[string]any{"own_password": "x"})
	require.NoError(t, err)
	def = pkgfile.Package{}
	require.NoError(t, json.Unmarshal(r.Definition, &def))
	require.Equal(t, "elsewhere", def.Connections["warehouse"].Host, "the package's own declaration wins")

	for _, tc := range []struct {
		name  string
		edit  func(*catalog.Bundle)
		path  string
		wants string
	}{
		{"literal password", func(b *catalog.Bundle) {
			c := b.Connections["warehouse"]
			c.Password = "hunter2"
			b.Connections["warehouse"] = c
		}, "connections.warehouse.password", "a literal password is refused"},
		{"password from a plain parameter", func(b *catalog.Bundle) {
			c := b.Connections["warehouse"]
			c.Password = "${params.pg_host}"
			b.Connections["warehouse"] = c
		}, "connections.warehouse.password", "params.pg_host is not sensitive"},
		{"unknown kind", func(b *catalog.Bundle) {
			c := b.Connections["warehouse"]
			c.Kind = "postgress"
			b.Connections["warehouse"] = c
		}, "connections.warehouse.kind", `"postgres"`},
		{"a package's parameter is not the project's", func(b *catalog.Bundle) {
			c := b.Connections["warehouse"]
			c.User = "${params.own_password}"
			b.Connections["warehouse"] = c
		}, "connections.warehouse.user", "own_password"},
		{"a task naming a connection nobody declares", func(b *catalog.Bundle) {
			delete(b.Connections, "warehouse")
		}, "", "warehouse"},
	} {
		b := connProject()
		tc.edit(&b)
		_, err := s.Deploy(ctx, folder, "dw-bad", b, "")
		require.ErrorIs(t, err, catalog.ErrInvalid, tc.name)
		var ve *catalog.ValidationError
		require.ErrorAs(t, err, &ve, tc.name)
		found := false
		for _, pr := range ve.Problems {
			if (tc.path == "" || pr.Path == tc.path) && strings.Contains(pr.String(), tc.wants) {
				found = true
			}
		}
		require.True(t, found, "%s: want a problem at %q mentioning %q, got:\n%v", tc.name, tc.path, tc.wants, err)
	}
}
