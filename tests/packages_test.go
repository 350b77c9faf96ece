package tests

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

	// The sales source etl.yaml's header starts, shipped beside it; it
	// refuses a request without its token.
	source, requests := startSalesSource(t, "s3cret-token")

	hello := post(t, d, map[string]any{"definition": example(t, "hello.yaml"), "parameters": map[string]any{"who": "Ada"}})
	etl := post(t, d, map[string]any{"folder": "finance", "definition": example(t, "etl.yaml"), "parameters": map[string]any{
		"date": "2026-11-25", "source_url": source, "api_token": "s3cret-token",
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
	require.Equal(t, "GET /sales 200", <-requests, "the token reached the source")
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

// startSalesSource builds and starts examples/sales-source on a free port
// with token; it returns the URL it serves and the lines it prints per
// request.
func startSalesSource(t *testing.T, token string) (string, <-chan string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sales-source")
	out, err := exec.Command("go", "build", "-o", bin, "../examples/sales-source").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--token", token)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "the source prints the URL it serves")
	url := regexp.MustCompile(`http://\S+/sales`).FindString(lines.Text())
	require.NotEmpty(t, url, lines.Text())
	requests := make(chan string, 100)
	go func() {
		for lines.Scan() {
			requests <- lines.Text()
		}
	}()
	return url, requests
}
