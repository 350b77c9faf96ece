package client_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/pkg/catalog"
	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/pkgfile"
	"github.com/scaleout/scaleout/pkg/testenv"
	"github.com/scaleout/scaleout/scaleouttype"
)

// The catalog's configuration: restore, environments with a sensitive
// variable, references, bindings, and the deletes.
func testCatalog(t *testing.T, b bundle) {
	ctx := t.Context()
	folder := testenv.Name("env")
	secret := "s3cret-" + testenv.Name("v")
	_, err := b.admin.CreateFolder(ctx, folder, "")
	require.NoError(t, err)
	bun, err := client.ReadBundle(os.DirFS("../examples"))
	require.NoError(t, err)
	for range 2 {
		_, err = b.admin.Deploy(ctx, folder, "examples", bun)
		require.NoError(t, err)
	}
	v, err := b.admin.Restore(ctx, folder, "examples", 1)
	require.NoError(t, err)
	require.Equal(t, 3, v.Version)
	require.Equal(t, 1, v.RestoredFrom)
	_, err = b.admin.Restore(ctx, folder, "examples", 7)
	require.ErrorIs(t, err, client.ErrNotFound)

	var raw json.RawMessage
	in := catalog.EnvironmentInput{Description: "production", Variables: map[string]catalog.Variable{
		"who":   {Type: pkgfile.String, Value: secret, Sensitive: true},
		"batch": {Type: pkgfile.Int, Value: 500},
	}}
	e, err := b.admin.CreateEnvironment(ctx, folder, "prod", in, client.Raw(&raw))
	require.NoError(t, err)
	require.Equal(t, 1, e.Revision)
	require.True(t, e.Variables["who"].Sensitive)
	require.Nil(t, e.Variables["who"].Value, "a sensitive value is never returned")
	require.NotContains(t, string(raw), secret)
	_, err = b.admin.CreateEnvironment(ctx, folder, "prod", in)
	require.ErrorIs(t, err, client.ErrConflict)
	_, err = b.reader.CreateEnvironment(ctx, folder, "other", in)
	require.ErrorIs(t, err, client.ErrForbidden)
	_, err = b.admin.CreateEnvironment(ctx, folder, "bad", catalog.EnvironmentInput{Variables: map[string]catalog.Variable{
		"n": {Type: pkgfile.Int, Value: "lots"}, "m": {Type: "integer", Value: 1}}})
	var ae *client.Error
	require.ErrorAs(t, err, &ae)
	require.ErrorIs(t, err, client.ErrInvalid)
	require.Len(t, ae.Problems, 2, "every problem is listed")

	// An update that keeps the sensitive value without knowing it.
	e, err = b.admin.UpdateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{Variables: map[string]catalog.Variable{
		"who": {Type: pkgfile.String, Sensitive: true},
	}})
	require.NoError(t, err)
	require.Equal(t, 2, e.Revision)
	require.Len(t, e.Variables, 1)
	es, err := b.reader.Environments(ctx, folder, client.Raw(&raw))
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.NotContains(t, string(raw), secret)
	e, err = b.reader.GetEnvironment(ctx, folder, "prod")
	require.NoError(t, err)
	require.Equal(t, "prod", e.Name)

	_, err = b.admin.SetReferences(ctx, folder, "examples", []catalog.EnvRef{{Environment: "nope"}})
	require.ErrorIs(t, err, client.ErrNotFound)
	p, err := b.admin.SetReferences(ctx, folder, "examples", []catalog.EnvRef{{Environment: "prod"}})
	require.NoError(t, err)
	require.Equal(t, []catalog.EnvRef{{Folder: folder, Environment: "prod"}}, p.References)
	_, err = b.admin.SetBindings(ctx, folder, "examples", map[string]string{"who": "whom"})
	require.ErrorAs(t, err, &ae)
	require.ErrorIs(t, err, client.ErrInvalid)
	require.Equal(t, "bindings.who", ae.Problems[0].Path)
	require.Contains(t, ae.Problems[0].Message, `has no variable "whom" (it has: who); did you mean "who"?`)
	bound, err := b.admin.SetBindings(ctx, folder, "examples", map[string]string{"who": "who"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"who": "who"}, bound.Bindings)
	require.Equal(t, map[string]string{"who": "who"}, bound.Changes.Added)
	bound, err = b.admin.PatchBindings(ctx, folder, "examples", map[string]*string{"who": nil})
	require.NoError(t, err)
	require.Empty(t, bound.Bindings)
	require.Equal(t, map[string]string{"who": "who"}, bound.Changes.Removed)
	who := "who"
	_, err = b.admin.PatchBindings(ctx, folder, "examples", map[string]*string{"who": &who})
	require.NoError(t, err)

	ex, err := b.admin.CreateExecution(ctx, scaleouttype.CreateExecutionRequest{Folder: folder, Project: "examples", Package: "hello",
		Environment: &catalog.EnvRef{Environment: "prod"}})
	require.NoError(t, err)
	final, err := b.reader.WaitFinal(ctx, ex.ID, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, execution.Succeeded, final.Status, final.Error)
	require.Equal(t, "***", final.Parameters["who"])

	err = b.admin.DeleteFolder(ctx, folder)
	require.ErrorIs(t, err, client.ErrConflict)
	require.ErrorContains(t, err, "is not empty: it holds projects examples and environments prod")
	require.NoError(t, b.admin.DeleteEnvironment(ctx, folder, "prod"))
	require.ErrorIs(t, b.admin.DeleteEnvironment(ctx, folder, "prod"), client.ErrNotFound)
	require.NoError(t, b.admin.DeleteProject(ctx, folder, "examples"))
	require.ErrorIs(t, b.admin.DeleteProject(ctx, folder, "examples"), client.ErrNotFound)
	require.NoError(t, b.admin.DeleteFolder(ctx, folder))
	_, err = b.reader.GetFolder(ctx, folder)
	require.ErrorIs(t, err, client.ErrNotFound)
}
