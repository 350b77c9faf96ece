package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A project's connections over HTTP: deployed with the bundle, described
// with the project (references, not values), and refused with the field
// to fix when a password is written in.
func TestProjectConnections(t *testing.T) {
	t.Parallel()
	b := setup(t)
	folder := "conns"
	project := "/v1/folders/" + folder + "/projects/dw"
	code, out, _ := do(t, b, "POST", "/v1/folders", adminToken, mustJSON(t, map[string]any{"name": folder}))
	require.Equal(t, http.StatusCreated, code, out)

	pkg := "name: load\ntasks:\n  - name: count\n    type: sql\n    with: {connection: warehouse, statement: \"SELECT 1\"}\n"
	bundle := func(password string) string {
		return mustJSON(t, map[string]any{
			"packages": map[string]string{"load": pkg},
			"parameters": map[string]any{
				"pg_password": map[string]any{"type": "string", "sensitive": true},
			},
			"connections": map[string]any{
				"warehouse": map[string]any{"kind": "postgres", "host": "db", "port": 5432, "user": "etl", "password": password},
			},
		})
	}
	code, out, _ = do(t, b, "PUT", project, adminToken, bundle("hunter2"))
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, problemsOf(t, out)[0], "connections.warehouse.password: a literal password is refused")

	code, out, _ = do(t, b, "PUT", project, adminToken, bundle("${params.pg_password}"))
	require.Equal(t, http.StatusCreated, code, out)

	code, out, _ = do(t, b, "GET", project, adminToken, "")
	require.Equal(t, http.StatusOK, code, out)
	conns, ok := out["connections"].(map[string]any)
	require.True(t, ok, out)
	require.Equal(t, map[string]any{"kind": "postgres", "host": "db", "port": "5432", "user": "etl", "password": "${params.pg_password}"}, conns["warehouse"])
}
