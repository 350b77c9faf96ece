package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

const greet = `name: greet
parameters:
  who: {type: string, default: world}
  token: {type: string, sensitive: true}
  batch: {type: int, default: 10}
tasks:
  - name: say
    type: exec
    with: {command: [echo, "${params.who}"]}
`

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// problemsOf is the answer's problems as "path: message".
func problemsOf(t *testing.T, out map[string]any) []string {
	t.Helper()
	e, ok := out["error"].(map[string]any)
	require.True(t, ok, out)
	var ps []string
	for _, p := range e["problems"].([]any) {
		pm := p.(map[string]any)
		ps = append(ps, pm["path"].(string)+": "+pm["message"].(string))
	}
	return ps
}

// Bindings over HTTP: each is checked against the project and every
// environment it references, a refusal lists the known names, and an
// answer says what was added, changed and removed.
func TestBindingsChecked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	folder := "bind"
	base := "/v1/folders/" + folder
	project := base + "/projects/daily"
	code, out, _ := do(t, b, "POST", "/v1/folders", adminToken, mustJSON(t, map[string]any{"name": folder}))
	require.Equal(t, http.StatusCreated, code, out)
	code, out, _ = do(t, b, "PUT", project, adminToken, mustJSON(t, map[string]any{
		"packages":   map[string]string{"greet": greet},
		"parameters": map[string]any{"region": map[string]any{"type": "string"}},
	}))
	require.Equal(t, http.StatusCreated, code, out)

	code, out, _ = do(t, b, "PUT", project+"/bindings", adminToken, `{"bindings":{"who":"name"}}`)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Equal(t, []string{"bindings: project " + folder + "/daily references no environment, so no variable can be checked: reference the environments first (PUT .../references), then bind"},
		problemsOf(t, out))

	code, out, _ = do(t, b, "POST", base+"/environments", adminToken, mustJSON(t, map[string]any{"name": "prod", "variables": map[string]any{
		"name":  map[string]any{"type": "string", "value": "Ada"},
		"rows":  map[string]any{"type": "int", "value": 500},
		"token": map[string]any{"type": "string", "value": "s3cret-value", "sensitive": true},
	}}))
	require.Equal(t, http.StatusCreated, code, out)
	code, out, _ = do(t, b, "PUT", project+"/references", adminToken, `{"references":[{"environment":"prod"}]}`)
	require.Equal(t, http.StatusOK, code, out)

	// Every problem at once, with what is known; nothing is changed.
	code, out, _ = do(t, b, "PUT", project+"/bindings", adminToken, `{"bindings":{"nosuchparam":"name","who":"nosuchvar","batch":"token"}}`)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Equal(t, []string{
		`bindings.nosuchparam: project ` + folder + `/daily (version 1) has no parameter "nosuchparam" (declared: batch, region, token, who)`,
		`bindings.batch: variable "token" of environment ` + folder + `/prod is of type string, which the parameter cannot take: package "greet" declares it int (want int, got a value of another type)`,
		`bindings.who: environment ` + folder + `/prod has no variable "nosuchvar" (it has: name, rows, token)`,
	}, problemsOf(t, out))
	require.NotContains(t, mustJSON(t, out), "s3cret")
	code, out, _ = do(t, b, "GET", project, readerToken, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, map[string]any{}, out["bindings"], "a refused change changes nothing")

	// Accepted: the project as GET shows it, and the changes.
	code, out, _ = do(t, b, "PUT", project+"/bindings", adminToken, `{"bindings":{"who":"name","batch":"rows"}}`)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, map[string]any{"who": "name", "batch": "rows"}, out["bindings"])
	require.Equal(t, "daily", out["name"])
	require.Equal(t, map[string]any{
		"added": map[string]any{"who": "name", "batch": "rows"}, "changed": map[string]any{}, "removed": map[string]any{}, "unchanged": []any{},
	}, out["changes"])

	// PUT replaces: what it leaves out is removed, and said so.
	code, out, _ = do(t, b, "PUT", project+"/bindings", adminToken, `{"bindings":{"who":"token"}}`)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, map[string]any{
		"added": map[string]any{}, "changed": map[string]any{"who": map[string]any{"from": "name", "to": "token"}},
		"removed": map[string]any{"batch": "rows"}, "unchanged": []any{},
	}, out["changes"])

	// PATCH binds and unbinds, keeping the others.
	code, out, _ = do(t, b, "PATCH", project+"/bindings", adminToken, `{"bindings":{"batch":"rows","region":"name"}}`)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, map[string]any{"who": "token", "batch": "rows", "region": "name"}, out["bindings"])
	require.Equal(t, []any{"who"}, out["changes"].(map[string]any)["unchanged"], "kept")
	require.Equal(t, map[string]any{"batch": "rows", "region": "name"}, out["changes"].(map[string]any)["added"])
	code, out, _ = do(t, b, "PATCH", project+"/bindings", adminToken, `{"bindings":{"who":null}}`)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, map[string]any{"batch": "rows", "region": "name"}, out["bindings"])
	require.Equal(t, map[string]any{"who": "token"}, out["changes"].(map[string]any)["removed"])
	code, out, _ = do(t, b, "PATCH", project+"/bindings", adminToken, `{"bindings":{"wh0":null,"regoin":"name"}}`)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Equal(t, []string{
		`bindings.wh0: parameter wh0 is not bound, so it cannot be unbound (bound: batch, region)`,
		`bindings.regoin: project ` + folder + `/daily (version 1) has no parameter "regoin" (declared: batch, region, token, who); did you mean "region"?`,
	}, problemsOf(t, out))
	for _, body := range []string{`{}`, `{"bindings":{}}`} {
		code, out, _ = do(t, b, "PATCH", project+"/bindings", adminToken, body)
		require.Equal(t, http.StatusBadRequest, code, out)
		require.Contains(t, out["error"].(map[string]any)["message"], "give the parameters to bind")
	}
	code, out, _ = do(t, b, "PATCH", project+"/bindings", readerToken, `{"bindings":{"who":null}}`)
	require.Equal(t, http.StatusForbidden, code, out)
	code, out, _ = do(t, b, "PATCH", base+"/projects/nope/bindings", adminToken, `{"bindings":{"who":null}}`)
	require.Equal(t, http.StatusNotFound, code, out)

	// A run with the environment takes the bound values.
	code, out, _ = do(t, b, "POST", "/v1/executions", adminToken, mustJSON(t, map[string]any{
		"folder": folder, "project": "daily", "package": "greet", "environment": map[string]any{"environment": "prod"},
	}))
	require.Equal(t, http.StatusCreated, code, out)
	require.Equal(t, map[string]any{"who": "world", "batch": float64(500), "region": "Ada", "token": "***"}, out["parameters"])
}
