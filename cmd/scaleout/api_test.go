package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/clienttest"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/testkit/testlog"
)

// cli runs the API commands against one stack.
type cli struct{ stack *clienttest.Stack }

// args adds the stack's endpoint and token, before a "--" if there is one
// (what follows it is a program's arguments).
func (c cli) args(args []string) []string {
	flags := []string{"--endpoint", c.stack.URL, "--token", c.stack.Token}
	for i, a := range args {
		if a == "--" {
			return append(append(append([]string{}, args[:i]...), flags...), args[i:]...)
		}
	}
	return append(append([]string{}, args...), flags...)
}

// run runs the command to its end, within two minutes.
func (c cli) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out, errOut testlog.Buffer
	err := execute(ctx, &out, &errOut, c.args(args)...)
	return out.String(), errOut.String(), err
}

// start runs the command in the background; wait returns its error.
func (c cli) start(ctx context.Context, args ...string) (out, errOut *testlog.Buffer, wait func() error) {
	out, errOut = &testlog.Buffer{}, &testlog.Buffer{}
	done := make(chan error, 1)
	go func() { done <- execute(ctx, out, errOut, c.args(args)...) }()
	return out, errOut, func() error { return <-done }
}

func execute(ctx context.Context, out, errOut io.Writer, args ...string) error {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(errOut)
	return root.ExecuteContext(ctx)
}

// startedID starts an execution without waiting and returns its id.
func (c cli) startedID(t *testing.T, args ...string) string {
	t.Helper()
	out, _, err := c.run(t, append([]string{"run", "-o", "json"}, args...)...)
	require.NoError(t, err)
	var e struct{ ID, Status string }
	require.NoError(t, json.Unmarshal([]byte(out), &e), out)
	require.Equal(t, "pending", e.Status)
	return e.ID
}

// eventually waits for the buffer to hold s and returns the first line.
func eventually(t *testing.T, b *testlog.Buffer, s string) string {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(b.String(), s) }, time.Minute, 50*time.Millisecond,
		"waiting for %q in:\n%s", s, b)
	line, _, _ := strings.Cut(b.String(), "\n")
	return line
}

// The commands that talk to the API, against a real stack (the API, a
// worker and the stream poller in this process, on the stand-ins).
func TestAPICommands(t *testing.T) {
	c := cli{stack: clienttest.Start(t, clienttest.Options{Prefix: "cli"})}
	t.Run("parallel", func(t *testing.T) {
		t.Run("DeployAndRunWait", func(t *testing.T) { t.Parallel(); testDeployAndRunWait(t, c) })
		t.Run("FailingRunExitsNonZero", func(t *testing.T) { t.Parallel(); testFailingRun(t, c) })
		t.Run("LogsFollow", func(t *testing.T) { t.Parallel(); testLogsFollow(t, c) })
		t.Run("ExecutionsListShowStop", func(t *testing.T) { t.Parallel(); testExecutionsListShowStop(t, c) })
		t.Run("WaitEndsWithStatus", func(t *testing.T) { t.Parallel(); testWaitStoppedElsewhere(t, c) })
		t.Run("Interrupt", func(t *testing.T) { t.Parallel(); testInterrupt(t, c) })
		t.Run("Credentials", func(t *testing.T) { t.Parallel(); testCredentials(t, c) })
		t.Run("Catalog", func(t *testing.T) { t.Parallel(); testCatalogCommands(t, c) })
		t.Run("Console", func(t *testing.T) { t.Parallel(); testConsole(t, c) })
		t.Run("DataFlowShow", func(t *testing.T) { t.Parallel(); testDataFlowShow(t, c) })
	})
	t.Run("Dashboard", func(t *testing.T) { testDashboard(t, c) })
	t.Run("Workers", func(t *testing.T) { testWorkersCommands(t, c) })
}

func testDeployAndRunWait(t *testing.T, c cli) {
	folder := testenv.Name("demo")
	out, _, err := c.run(t, "deploy", "../../examples", "--folder", folder)
	require.NoError(t, err)
	require.Contains(t, out, "created folder "+folder)
	require.Contains(t, out, "deployed "+folder+"/examples version 1 (4 packages: failure-handled, hello, load-sales, retry)")
	out, _, err = c.run(t, "deploy", "../../examples", "--folder", folder, "--project", "examples", "-o", "json")
	require.NoError(t, err)
	var v struct{ Version int }
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	require.Equal(t, 2, v.Version)

	out, errOut, err := c.run(t, "run", "hello", "--folder", folder, "--project", "examples", "-p", "who=Ada", "--wait", "--interval", "200ms")
	require.NoError(t, err, errOut)
	require.Contains(t, out, "pending: "+folder+"/examples/hello on pool default")
	require.Contains(t, out, "▶ greet started")
	require.Contains(t, out, "greet | hello, Ada")
	require.Contains(t, out, "✔ greet succeeded")
	require.Contains(t, out, "package succeeded")
	require.Regexp(t, `execution [0-9a-f-]{36} succeeded in `, out)

	// --param values take the declared type; a bad one is caught here.
	_, _, err = c.run(t, "run", "load-sales", "--folder", folder, "--project", "examples", "-p", "batch_size=lots")
	require.ErrorContains(t, err, `--param batch_size="lots": not a valid int`)
	_, _, err = c.run(t, "run", "hello", "--folder", folder, "--project", "examples", "-p", "nobody=x")
	require.ErrorContains(t, err, "parameters.nobody: the package declares no such parameter")
	_, _, err = c.run(t, "run", "hello", "--folder", folder, "--project", "nope")
	require.ErrorContains(t, err, "not_found")

	// An invalid project: every problem, with its line.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.yaml"),
		[]byte("name: broken\ntasks:\n  - {name: a, type: exce}\n  - {name: b, type: sleep, after: [{task: zz}]}\n"), 0o600))
	_, _, err = c.run(t, "deploy", dir, "--folder", folder)
	require.Equal(t, 1, exitCode(err))
	require.ErrorContains(t, err, `unknown task type "exce"`)
	require.ErrorContains(t, err, `unknown task "zz"`)
	_, _, err = c.run(t, "deploy", "../../examples/hello.yaml", "--folder", folder)
	require.ErrorContains(t, err, "is not a folder")
}

func testFailingRun(t *testing.T, c cli) {
	file := filepath.Join(t.TempDir(), "breaks.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`name: breaks
tasks:
  - name: step
    type: exec
    with: {command: [sh, -c, 'echo "about to break"; exit 3']}
`), 0o600))
	out, _, err := c.run(t, "run", "--file", file, "--wait", "--interval", "200ms")
	require.Equal(t, 1, exitCode(err), out)
	require.Contains(t, out, "step | about to break")
	require.Contains(t, out, "✘ step failed")
	require.Contains(t, out, "package failed")
	require.Regexp(t, `execution [0-9a-f-]{36} failed in .*: step: sh exited with code 3`, out)

	out, _, err = c.run(t, "run", testenv.Name("cmd"), "--wait", "--interval", "200ms", "--", "sh", "-c", "exit 4")
	require.Equal(t, 1, exitCode(err), out)
	require.Contains(t, out, "exited with code 4")

	_, _, err = c.run(t, "run", "--file", file, "--", "true")
	require.ErrorContains(t, err, "not both")
	_, _, err = c.run(t, "run", "hello")
	require.ErrorContains(t, err, "give PACKAGE and --project")
}

func testLogsFollow(t *testing.T, c cli) {
	id := c.startedID(t, testenv.Name("lines"), "--", "sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.3; done")
	out, _, err := c.run(t, "logs", id, "--follow", "--interval", "200ms")
	require.NoError(t, err)
	for _, want := range []string{"▶ main started", "main | line 1", "main | line 3", "✔ main succeeded", "package succeeded", "execution " + id + " succeeded"} {
		require.Contains(t, out, want)
	}
	require.Less(t, strings.Index(out, "line 1"), strings.Index(out, "line 3"))

	out, _, err = c.run(t, "logs", id)
	require.NoError(t, err)
	require.Contains(t, out, "main | line 2")

	out, _, err = c.run(t, "logs", id, "-o", "json")
	require.NoError(t, err)
	sc := bufio.NewScanner(strings.NewReader(out))
	var kinds []string
	for sc.Scan() {
		var m struct{ Kind, Message string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "one JSON message a line: %s", sc.Text())
		kinds = append(kinds, m.Kind)
	}
	require.Equal(t, "package_started", kinds[0])
	require.Equal(t, "package_ended", kinds[len(kinds)-1])

	_, _, err = c.run(t, "logs", "01a21491-44d5-72a9-a368-9fc28c6fb224")
	require.ErrorContains(t, err, "not_found")

	// Following a failing execution exits with its status, as run --wait.
	failing := c.startedID(t, testenv.Name("lines"), "--", "sh", "-c", "sleep 0.3; exit 5")
	out, _, err = c.run(t, "logs", failing, "--follow", "--interval", "200ms")
	require.Equal(t, 1, exitCode(err), out)
	require.Contains(t, out, "exited with code 5")
	_, _, err = c.run(t, "logs", failing)
	require.NoError(t, err, "without --follow the command only shows what is there")
}

func testExecutionsListShowStop(t *testing.T, c cli) {
	pkg := testenv.Name("waits")
	// No worker serves pool "idle": the execution stays pending.
	id := c.startedID(t, pkg, "--pool", "idle", "--", "true")

	out, _, err := c.run(t, "executions", "list", "--package", pkg, "--since", "1h")
	require.NoError(t, err)
	require.Regexp(t, id+`\s+pending\s+default/default/`+pkg+`\s+idle`, out)
	out, _, err = c.run(t, "executions", "list", "--package", pkg, "--status", "pending", "-o", "json")
	require.NoError(t, err)
	var page struct {
		Executions []struct{ ID string } `json:"executions"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &page))
	require.Len(t, page.Executions, 1)
	require.Equal(t, id, page.Executions[0].ID)

	out, _, err = c.run(t, "executions", "show", id)
	require.NoError(t, err)
	require.Regexp(t, `Status:\s+pending`, out)
	require.Regexp(t, `Pool:\s+idle`, out)

	out, _, err = c.run(t, "executions", "stop", id)
	require.NoError(t, err)
	require.Contains(t, out, "execution "+id+" canceled")
	out, _, err = c.run(t, "executions", "show", id, "-o", "json")
	require.NoError(t, err)
	var e struct{ Status, Error string }
	require.NoError(t, json.Unmarshal([]byte(out), &e))
	require.Equal(t, "canceled", e.Status)

	_, _, err = c.run(t, "executions", "stop", id)
	require.Equal(t, 1, exitCode(err))
	require.ErrorContains(t, err, "conflict")
	_, _, err = c.run(t, "executions", "list", "--since", "last week")
	require.ErrorContains(t, err, "give an RFC 3339 time")
	_, _, err = c.run(t, "executions", "list", "--status", "done")
	require.ErrorContains(t, err, `status="done"`)
}

// --wait exits with the execution's status: stopped by someone else, 2.
func testWaitStoppedElsewhere(t *testing.T, c cli) {
	out, _, wait := c.start(t.Context(), "run", testenv.Name("sleeper"), "--wait", "--interval", "200ms", "--", "sleep", "30")
	first := eventually(t, out, "▶ main started")
	id := strings.Fields(first)[1]
	stopped, _, err := c.run(t, "executions", "stop", id)
	require.NoError(t, err)
	require.Contains(t, stopped, "stopping")
	err = wait()
	require.Equal(t, 2, exitCode(err), out.String())
	require.Contains(t, out.String(), "execution "+id+" canceled")
}

// Ctrl-C stops the waiting, not the execution, unless --stop-on-interrupt.
func testInterrupt(t *testing.T, c cli) {
	ctx, interrupt := context.WithCancel(t.Context())
	out, errOut, wait := c.start(ctx, "run", testenv.Name("napper"), "--wait", "--interval", "200ms", "--", "sleep", "30")
	id := strings.Fields(eventually(t, out, "▶ main started"))[1]
	interrupt()
	require.Equal(t, 130, exitCode(wait()))
	require.Contains(t, errOut.String(), "stopped waiting: execution "+id+" goes on")
	shown, _, err := c.run(t, "executions", "show", id)
	require.NoError(t, err)
	require.Regexp(t, `Status:\s+running`, shown, "the execution goes on")
	_, _, err = c.run(t, "executions", "stop", id)
	require.NoError(t, err)

	ctx, interrupt = context.WithCancel(t.Context())
	out, errOut, wait = c.start(ctx, "run", testenv.Name("napper"), "--wait", "--stop-on-interrupt", "--interval", "200ms", "--", "sleep", "30")
	id = strings.Fields(eventually(t, out, "▶ main started"))[1]
	interrupt()
	require.Equal(t, 2, exitCode(wait()), out.String())
	require.Contains(t, errOut.String(), "interrupted: stopping execution "+id)
	require.Contains(t, out.String(), "execution "+id+" canceled")
}

func testCredentials(t *testing.T, c cli) {
	_, _, err := run(t, "workers", "list", "--endpoint", c.stack.URL, "--token=")
	require.ErrorContains(t, err, "no API token: set SCALEOUT_TOKEN or pass --token")
	_, _, err = run(t, "workers", "list", "--endpoint", c.stack.URL, "--token", "wrong-token-0123456789")
	require.ErrorContains(t, err, "the bearer token is not valid")
	require.ErrorContains(t, err, "check --token or $SCALEOUT_TOKEN")
	_, _, err = run(t, "deploy", "../../examples", "--folder", "x", "--endpoint", c.stack.URL, "--token", c.stack.ReaderToken)
	require.ErrorContains(t, err, "needs the admin role")
	_, _, err = run(t, "workers", "list", "--aws-sigv4", "--token", "x", "--endpoint", c.stack.URL)
	require.ErrorContains(t, err, "not both")
	_, _, err = c.run(t, "workers", "list", "-o", "yaml")
	require.ErrorContains(t, err, `--output "yaml": use table or json`)
	// Global flags go before the command too.
	out, _, err := run(t, "--endpoint", c.stack.URL, "--token", c.stack.ReaderToken, "-o", "json", "workers", "list")
	require.NoError(t, err)
	require.True(t, json.Valid([]byte(out)))
}

func testDashboard(t *testing.T, c cli) {
	out, _, err := c.run(t, "dashboard")
	require.NoError(t, err)
	require.Contains(t, out, "Ended since")
	require.Regexp(t, `Now: \d+ running, \d+ pending`, out)
	// The canceled sleeper of WaitEndsWithStatus, once the stream poller
	// has folded it in.
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		out, _, err = c.run(t, "dashboard")
		require.NoError(ct, err)
		assert.Regexp(ct, `default/default/sleeper-\S+\s+0\s+0\s+1\s+0\s`, out)
	}, 30*time.Second, 200*time.Millisecond, "the package table")
	out, _, err = c.run(t, "dashboard", "--hours", "2", "-o", "json")
	require.NoError(t, err)
	var d struct {
		Counts map[string]int `json:"counts"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &d), out)
	require.Positive(t, d.Counts["succeeded"])
	require.Positive(t, d.Counts["failed"])
	_, _, err = c.run(t, "dashboard", "--hours", "0")
	require.ErrorContains(t, err, "give a whole number from 1 to 720")

	out, _, err = c.run(t, "pools")
	require.NoError(t, err)
	require.Regexp(t, `idle\s+\d+\s+\d+\s+0 online`, out)
}

func testWorkersCommands(t *testing.T, c cli) {
	id := c.stack.WorkerID
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		out, _, err := c.run(t, "workers", "list")
		require.NoError(ct, err)
		assert.Regexp(ct, id+`\s+online\s+true\s+default`, out)
	}, 20*time.Second, 100*time.Millisecond, "the stack's worker registers")

	out, _, err := c.run(t, "workers", "disable", id)
	require.NoError(t, err)
	require.Contains(t, out, "worker "+id+" disabled")
	out, _, err = c.run(t, "workers", "describe", id, "-o", "json")
	require.NoError(t, err)
	var w struct {
		ID      string
		Enabled bool
	}
	require.NoError(t, json.Unmarshal([]byte(out), &w))
	require.Equal(t, id, w.ID)
	require.False(t, w.Enabled)
	out, _, err = c.run(t, "workers", "enable", id)
	require.NoError(t, err)
	require.Contains(t, out, "worker "+id+" enabled")
	out, _, err = c.run(t, "workers", "describe", id)
	require.NoError(t, err)
	require.Regexp(t, `Enabled:\s+true`, out)

	_, _, err = c.run(t, "workers", "describe", "no-such-worker")
	require.Equal(t, 1, exitCode(err))
	require.ErrorContains(t, err, "not_found")
	_, _, err = c.run(t, "workers", "remove", "no-such-worker")
	require.ErrorContains(t, err, "not_found")
}

// --aws-sigv4 signs with the user's AWS credentials (here the stand-ins'
// variables): a local server that only looks at the headers sees SigV4.
func TestSigV4Flag(t *testing.T) {
	t.Parallel()
	var authz atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authz.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"workers": []}`))
	}))
	t.Cleanup(srv.Close)
	_, errOut, err := run(t, "workers", "list", "--aws-sigv4", "--endpoint", srv.URL)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(authz.Load().(string), "AWS4-HMAC-SHA256 "), authz.Load())
	require.Contains(t, authz.Load(), "/execute-api/aws4_request")
	require.Contains(t, errOut, "no workers are registered")
}

// scaleout console serves the page and forwards its calls with the token:
// the page needs none.
func testConsole(t *testing.T, c cli) {
	ctx, cancel := context.WithCancel(t.Context())
	out, errOut, wait := c.start(ctx, "console", "--listen", "127.0.0.1:0")
	line := eventually(t, out, "/ui/ (Ctrl-C stops it)")
	_, rest, _ := strings.Cut(line, " at ")
	page, _, _ := strings.Cut(rest, " ")
	base := strings.TrimSuffix(page, "/ui/")

	resp, err := http.Get(page)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(b), "Scaleout")

	// The worker registers within a heartbeat or two of the stack's start.
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		resp, err := http.Get(base + "/v1/workers")
		require.NoError(ct, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(ct, http.StatusOK, resp.StatusCode, "the proxy adds the token: %s", b)
		assert.Contains(ct, string(b), c.stack.WorkerID)
	}, 30*time.Second, 100*time.Millisecond, "the stack's worker through the proxy")

	cancel()
	require.NoError(t, wait(), errOut.String())

	_, _, err = c.run(t, "console", "--listen", "0.0.0.0:0")
	require.ErrorContains(t, err, "loopback only")
}
