package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func example(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../examples/" + name)
	require.NoError(t, err)
	return string(b)
}

// The example packages run through the API, a worker and the engine.
func TestExamplePackages(t *testing.T) {
	d := startDev(t, buildScaleout(t))

	var sourceCalls, authOK int
	source := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sourceCalls++
		if r.Header.Get("Authorization") == "Bearer s3cret-token" {
			authOK++
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"count": 42}`)
	}))
	t.Cleanup(source.Close)

	hello := post(t, d, map[string]any{"definition": example(t, "hello.yaml"), "parameters": map[string]any{"who": "Ada"}})
	etl := post(t, d, map[string]any{"folder": "finance", "definition": example(t, "etl.yaml"), "parameters": map[string]any{
		"date": "2026-11-25", "source_url": source.URL + "/sales", "api_token": "s3cret-token",
	}})
	retry := post(t, d, map[string]any{"definition": example(t, "retry.yaml"), "parameters": map[string]any{"dir": t.TempDir()}})
	handled := post(t, d, map[string]any{"definition": example(t, "failure-handled.yaml")})

	got := waitFinal(t, d, hello.ID)
	require.Equal(t, "succeeded", got.Status, got.Error)
	require.Equal(t, []string{"greet stdout: hello, Ada"}, outputLines(messages(t, d, hello.ID)))

	got = waitFinal(t, d, etl.ID)
	require.Equal(t, "succeeded", got.Status, got.Error)
	require.Equal(t, "***", got.Parameters["api_token"])
	status := got.taskStatus()
	require.Equal(t, "succeeded", status["extract"])
	require.Equal(t, "succeeded", status["transform"])
	require.Equal(t, "succeeded", status["per-region"])
	require.Equal(t, "skipped", status["alert"], "no failure, no alert")
	require.Equal(t, 1, authOK, "the token reached the source")
	ms := messages(t, d, etl.ID)
	raw, err := json.Marshal(ms)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "s3cret-token", "the sensitive parameter never appears in a message")
	require.Contains(t, strings.Join(outputLines(ms), "\n"), "transforming 42 rows of 2026-11-25")

	got = waitFinal(t, d, retry.ID)
	require.Equal(t, "succeeded", got.Status, got.Error)
	for _, task := range got.Tasks {
		if task.Path == "flaky" {
			require.Equal(t, 3, task.Attempts)
		}
	}

	got = waitFinal(t, d, handled.ID)
	require.Equal(t, "succeeded", got.Status, "a failure handled by a failure path does not fail the package: %s", got.Error)
	require.Equal(t, "failed", got.taskStatus()["risky"])
	require.Equal(t, "succeeded", got.taskStatus()["recover"])
}

// A package sees its run through system.*, as SSIS packages read
// System::ExecutionInstanceGUID: the execution id, attempt, names, worker.
func TestSystemVariables(t *testing.T) {
	d := startDev(t, buildScaleout(t))
	def := `name: whoami
tasks:
  - name: show
    type: exec
    with: {command: [echo, "${system.execution_id} ${system.attempt} ${system.folder}/${system.project}/${system.package} ${system.pool} ${system.worker_id != ''} ${system.machine != ''}"]}
`
	e := post(t, d, map[string]any{"folder": "ops", "project": "audit", "package": "whoami", "definition": def})
	got := waitFinal(t, d, e.ID)
	require.Equal(t, "succeeded", got.Status, got.Error)
	require.Equal(t, []string{"show stdout: " + e.ID + " 1 ops/audit/whoami default true true"}, outputLines(messages(t, d, e.ID)))
}
