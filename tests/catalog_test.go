package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

func must(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

const greetV1 = `name: greet
parameters:
  who: {type: string, required: true}
  token: {type: string, sensitive: true}
tasks:
  - name: say
    type: exec
    with: {command: [sh, -c, 'echo "v1 hello, $0 ($1)"', "${params.who}", "${params.token}"]}
`

// The catalog over HTTP: deploy, deploy again, restore the first version,
// and an environment variable resolving a parameter at execution time.
func TestCatalogDeployRestoreAndEnvironments(t *testing.T) {
	d := startDev(t, buildScaleout(t))
	folder := testenv.Name("finance")
	base := d.base + "/v1/folders"

	var out map[string]any
	require.Equal(t, http.StatusCreated, call(t, "POST", base, must(t, map[string]any{"name": folder, "description": "finance jobs"}), &out))
	require.Equal(t, http.StatusConflict, call(t, "POST", base, must(t, map[string]any{"name": folder}), &out))

	project := base + "/" + folder + "/projects/daily"
	require.Equal(t, http.StatusCreated, call(t, "PUT", project, must(t, map[string]any{"packages": map[string]string{"greet": greetV1}}), &out))
	require.Equal(t, float64(1), out["version"])
	v2 := strings.Replace(greetV1, "v1 hello", "v2 hello", 1)
	require.Equal(t, http.StatusCreated, call(t, "PUT", project, must(t, map[string]any{"packages": map[string]string{"greet": v2}}), &out))
	require.Equal(t, float64(2), out["version"])

	// An invalid project is rejected with every problem listed.
	var bad struct {
		Error struct {
			Problems []map[string]any `json:"problems"`
		} `json:"error"`
	}
	require.Equal(t, http.StatusBadRequest, call(t, "PUT", project, must(t, map[string]any{"packages": map[string]string{
		"greet": "name: greet\ntasks:\n  - {name: a, type: exce}\n  - {name: b, type: sleep, after: [{task: zz}]}\n"}}), &bad))
	require.GreaterOrEqual(t, len(bad.Error.Problems), 2)

	require.Equal(t, http.StatusCreated, call(t, "POST", project+"/restore", `{"version": 1}`, &out))
	require.Equal(t, float64(3), out["version"], "restoring makes a new version")
	var versions struct {
		Versions []map[string]any `json:"versions"`
	}
	require.Equal(t, http.StatusOK, call(t, "GET", project+"/versions", "", &versions))
	require.Len(t, versions.Versions, 3)

	// An environment with a sensitive variable, referenced and bound.
	env := map[string]any{"name": "prod", "variables": map[string]any{
		"who":   map[string]any{"type": "string", "value": "Ada"},
		"token": map[string]any{"type": "string", "value": "prod-s3cret", "sensitive": true},
	}}
	require.Equal(t, http.StatusCreated, call(t, "POST", base+"/"+folder+"/environments", must(t, env), &out))
	var shown map[string]any
	require.Equal(t, http.StatusOK, call(t, "GET", base+"/"+folder+"/environments/prod", "", &shown))
	require.NotContains(t, must(t, shown), "prod-s3cret", "a sensitive value is never returned")
	require.Equal(t, http.StatusOK, call(t, "PUT", project+"/references", `{"references":[{"environment":"prod"}]}`, &out))
	require.Equal(t, http.StatusOK, call(t, "PUT", project+"/bindings", `{"bindings":{"who":"who","token":"token"}}`, &out))
	require.Equal(t, map[string]any{"who": "who", "token": "token"}, out["changes"].(map[string]any)["added"])

	// A parameter or a variable that does not exist is refused when bound,
	// and the bindings stay as they were.
	var refused struct {
		Error struct {
			Problems []struct {
				Path    string `json:"path"`
				Message string `json:"message"`
			} `json:"problems"`
		} `json:"error"`
	}
	require.Equal(t, http.StatusBadRequest, call(t, "PUT", project+"/bindings", `{"bindings":{"nosuchparam":"who","who":"nosuchvar"}}`, &refused))
	require.Len(t, refused.Error.Problems, 2)
	require.Equal(t, "bindings.nosuchparam", refused.Error.Problems[0].Path)
	require.Contains(t, refused.Error.Problems[0].Message, `has no parameter "nosuchparam" (declared: token, who)`)
	require.Equal(t, "bindings.who", refused.Error.Problems[1].Path)
	require.Contains(t, refused.Error.Problems[1].Message, `environment `+folder+`/prod has no variable "nosuchvar" (it has: token, who)`)
	require.Equal(t, http.StatusOK, call(t, "GET", project, "", &out))
	require.Equal(t, map[string]any{"who": "who", "token": "token"}, out["bindings"])

	// Run the deployed package with the environment: version 3 is version 1.
	e := post(t, d, map[string]any{"folder": folder, "project": "daily", "package": "greet", "environment": map[string]any{"environment": "prod"}})
	got := waitFinal(t, d, e.ID)
	require.Equal(t, "succeeded", got.Status, got.Error)
	require.Equal(t, "***", got.Parameters["token"])
	require.Equal(t, "Ada", got.Parameters["who"])
	require.Equal(t, []string{"say stdout: v1 hello, Ada (***)"}, outputLines(messages(t, d, e.ID)))

	// A given value overrides the environment.
	e = post(t, d, map[string]any{"folder": folder, "project": "daily", "package": "greet",
		"environment": map[string]any{"environment": "prod"}, "parameters": map[string]any{"who": "Grace"}})
	require.Equal(t, "succeeded", waitFinal(t, d, e.ID).Status)
	require.Equal(t, []string{"say stdout: v1 hello, Grace (***)"}, outputLines(messages(t, d, e.ID)))

	// Unknown package, missing environment reference.
	require.Equal(t, http.StatusNotFound, call(t, "POST", d.base+"/v1/executions", must(t, map[string]any{"folder": folder, "project": "daily", "package": "nope"}), &out))
	require.Equal(t, http.StatusBadRequest, call(t, "POST", d.base+"/v1/executions", must(t, map[string]any{"folder": folder, "project": "daily", "package": "greet"}), &out),
		"who is required and no environment binds it")

	// A folder is deleted only when empty.
	require.Equal(t, http.StatusConflict, call(t, "DELETE", base+"/"+folder, "", &out))
}

// Stop a pending and a running execution; see and manage the worker.
func TestStopAndWorkers(t *testing.T) {
	d := startDev(t, buildScaleout(t))
	var list struct {
		Workers []struct {
			ID      string `json:"id"`
			Online  bool   `json:"online"`
			Enabled bool   `json:"enabled"`
		} `json:"workers"`
	}
	api := apiClient(t, d.base)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, err := send(api, "GET", d.base+"/v1/workers", "", &list)
		require.NoError(c, err)
		require.Equal(c, http.StatusOK, code)
		found := false
		for _, w := range list.Workers {
			found = found || w.Online && w.Enabled
		}
		assert.True(c, found, "an online, enabled worker")
	}, 20*time.Second, 100*time.Millisecond, "the dev worker registers")
	var worker string
	for _, w := range list.Workers {
		if w.Online {
			worker = w.ID
		}
	}

	// The manager disables and enables the worker.
	var out map[string]any
	require.Equal(t, http.StatusOK, call(t, "POST", d.base+"/v1/workers/"+worker+"/disable", "", &out))
	require.Equal(t, false, out["enabled"])
	require.Equal(t, http.StatusOK, call(t, "PATCH", d.base+"/v1/workers/"+worker, `{"description":"the dev box"}`, &out))
	require.Equal(t, "the dev box", out["description"])
	require.Equal(t, http.StatusNotFound, call(t, "POST", d.base+"/v1/workers/no-such-worker/enable", "", &out))

	// No worker serves the "idle" pool: its execution stays pending and is
	// stopped before it starts.
	pending := post(t, d, map[string]any{"pool": "idle", "package": testenv.Name("p"), "command": []string{"true"}})
	require.Equal(t, http.StatusAccepted, call(t, "POST", d.base+"/v1/executions/"+pending.ID+"/stop", "", &out))
	require.Equal(t, "canceled", out["status"])

	require.Equal(t, http.StatusOK, call(t, "POST", d.base+"/v1/workers/"+worker+"/enable", "", &out))
	running := submit(t, d, testenv.Name("p"), "sleep", "60")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var e execution
		_, err := send(api, "GET", d.base+"/v1/executions/"+running.ID, "", &e)
		require.NoError(c, err)
		assert.Equal(c, "running", e.Status)
	}, 20*time.Second, 50*time.Millisecond)
	asked := time.Now()
	require.Equal(t, http.StatusAccepted, call(t, "POST", d.base+"/v1/executions/"+running.ID+"/stop", "", &out))
	got := waitFinal(t, d, running.ID)
	require.Equal(t, "canceled", got.Status)
	require.Less(t, time.Since(asked), 5*time.Second)

	var canceled execution
	call(t, "GET", d.base+"/v1/executions/"+pending.ID, "", &canceled)
	require.Equal(t, "canceled", canceled.Status, "the stopped pending execution never ran")
	require.Equal(t, 0, canceled.Attempt)
}
