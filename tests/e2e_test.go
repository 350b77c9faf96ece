package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/testkit/testlog"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const token = "e2e-token-0123456789abcdef"

// dev is a running `scaleout dev`.
type dev struct {
	base string
	cmd  *exec.Cmd
	logs *testlog.Buffer
	// exited is closed when the process ended; err is then its Wait error.
	exited chan struct{}
	err    error
}

func buildScaleout(t *testing.T) string {
	t.Helper()
	prepareOpenAPI(t)
	bin := filepath.Join(t.TempDir(), "scaleout")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/scaleout").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// startDev runs `scaleout dev` on the stand-ins that testenv started (their
// endpoints are in the environment, so it starts none of its own). env
// entries ("KEY=value") are added last, so they win over the defaults here.
func startDev(t *testing.T, bin string, env ...string) *dev {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "dev", "--addr", addr, "--in-memory")
	cmd.Env = append(os.Environ(), "SCALEOUT_PREFIX=e2e", "SCALEOUT_TOKEN="+token, "SCALEOUT_WORKER_CONCURRENCY=2",
		"SCALEOUT_POOLS=default,idle") // no worker serves "idle"
	cmd.Env = append(cmd.Env, env...)
	return runDev(t, cmd, "http://"+addr)
}

// tokenOf is the API token env gives a `scaleout dev` (the last
// SCALEOUT_TOKEN, as the process sees it), or the tests' own.
func tokenOf(env []string) string {
	t := token
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "SCALEOUT_TOKEN="); ok {
			t = v
		}
	}
	return t
}

// runDev starts cmd, a `scaleout dev` that listens on base, waits until its
// API answers, and stops it as Ctrl-C does when the test ends.
func runDev(t *testing.T, cmd *exec.Cmd, base string) *dev {
	t.Helper()
	d := &dev{base: base, cmd: cmd, logs: &testlog.Buffer{}, exited: make(chan struct{})}
	d.cmd.Stdout = d.logs
	d.cmd.Stderr = d.logs
	require.NoError(t, d.cmd.Start())
	go func() { d.err = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		// Stop it as Ctrl-C does: the worker's long poll in flight ends and
		// whatever it brings is released. Killed, a poll still open in the
		// SQS emulator could take the next test's message for a whole
		// visibility timeout.
		_ = d.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-d.exited:
		case <-time.After(20 * time.Second):
			_ = d.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("scaleout dev output:\n%s", d.logs.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(d.base + "/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				checkAPI(t, d.base, tokenOf(cmd.Env))
				return d
			}
		}
		select {
		case <-d.exited:
			t.Fatalf("scaleout dev exited before it was ready (%v):\n%s", d.err, d.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("scaleout dev not ready after 60s:\n%s", d.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func call(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	code, err := send(apiClient(t, url), method, url, body, out)
	require.NoError(t, err)
	return code
}

// send makes one API call with client (apiClient's, which checks the
// exchange against the OpenAPI document) and decodes the answer into out.
// It asserts nothing: an EventuallyWithT condition, which runs in a
// goroutine of its own where the test's T must not stop the test, asserts
// on what it returns.
func send(client *http.Client, method, url, body string, out any) (int, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, fmt.Errorf("body: %s: %w", b, err)
		}
	}
	return resp.StatusCode, nil
}

type execution struct {
	ID         string         `json:"id"`
	Status     string         `json:"status"`
	Attempt    int            `json:"attempt"`
	Error      string         `json:"error"`
	Parameters map[string]any `json:"parameters"`
	Tasks      []struct {
		Path     string `json:"path"`
		Status   string `json:"status"`
		Attempts int    `json:"attempts"`
		Error    string `json:"error"`
	} `json:"tasks"`
}

// taskStatus maps each task path to its final status.
func (e execution) taskStatus() map[string]string {
	out := map[string]string{}
	for _, t := range e.Tasks {
		out[t.Path] = t.Status
	}
	return out
}

func submit(t *testing.T, d *dev, pkg string, command ...string) execution {
	t.Helper()
	return post(t, d, map[string]any{"folder": "e2e", "project": "skeleton", "package": pkg, "command": command})
}

func post(t *testing.T, d *dev, req map[string]any) execution {
	t.Helper()
	body, err := json.Marshal(req)
	require.NoError(t, err)
	var e execution
	require.Equal(t, http.StatusCreated, call(t, "POST", d.base+"/v1/executions", string(body), &e))
	require.Equal(t, "pending", e.Status)
	return e
}

type message struct {
	Kind    string `json:"kind"`
	Task    string `json:"task"`
	Stream  string `json:"stream"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// messages reads every message of an execution, page by page.
func messages(t *testing.T, d *dev, id string) []message {
	t.Helper()
	var all []message
	after := ""
	for {
		var page struct {
			Messages []message `json:"messages"`
			Next     string    `json:"next"`
		}
		require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/executions/"+id+"/messages?limit=50&after="+after, "", &page))
		all = append(all, page.Messages...)
		if len(page.Messages) == 0 {
			return all
		}
		after = page.Next
	}
}

// outputLines are the output messages as "task stream: line".
func outputLines(ms []message) []string {
	var out []string
	for _, m := range ms {
		if m.Kind == "output" {
			out = append(out, m.Task+" "+m.Stream+": "+m.Message)
		}
	}
	return out
}

func waitFinal(t *testing.T, d *dev, id string) execution {
	t.Helper()
	var e execution
	api := apiClient(t, d.base)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		e = execution{}
		code, err := send(api, "GET", d.base+"/v1/executions/"+id, "", &e)
		require.NoError(c, err)
		require.Equal(c, http.StatusOK, code)
		assert.Contains(c, []string{"succeeded", "failed", "canceled"}, e.Status)
	}, 60*time.Second, 50*time.Millisecond, "execution %s never ended", id)
	return e
}

func TestSingleComputer(t *testing.T) {
	d := startDev(t, buildScaleout(t))
	pkg := testenv.Name("hello")

	ok := submit(t, d, pkg, "sh", "-c", "echo hello from $0", "scaleout")
	bad := submit(t, d, pkg, "sh", "-c", "echo about to fail >&2; exit 7")

	got := waitFinal(t, d, ok.ID)
	require.Equal(t, "succeeded", got.Status)
	require.Equal(t, 1, got.Attempt)
	require.Equal(t, []string{"main stdout: hello from scaleout"}, outputLines(messages(t, d, ok.ID)))

	got = waitFinal(t, d, bad.ID)
	require.Equal(t, "failed", got.Status)
	require.Contains(t, got.Error, "exited with code 7")
	require.Equal(t, []string{"main stderr: about to fail"}, outputLines(messages(t, d, bad.ID)))

	// The stream poller folds the changes into the package's counts.
	var stats struct {
		Counts map[string]int `json:"counts"`
	}
	api := apiClient(t, d.base)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, err := send(api, "GET", d.base+"/v1/stats?folder=e2e&project=skeleton&package="+pkg, "", &stats)
		require.NoError(c, err)
		require.Equal(c, 200, code)
		assert.Equal(c, 1, stats.Counts["succeeded"])
		assert.Equal(c, 1, stats.Counts["failed"])
	}, 30*time.Second, 100*time.Millisecond, "counts never reached 1 succeeded, 1 failed")
	require.Equal(t, 0, stats.Counts["pending"])
	require.Equal(t, 0, stats.Counts["running"])

	// The dashboard and the queue view see them too.
	var dash struct {
		Counts map[string]int `json:"counts"`
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, err := send(api, "GET", d.base+"/v1/dashboard?hours=1", "", &dash)
		require.NoError(c, err)
		require.Equal(c, 200, code)
		assert.GreaterOrEqual(c, dash.Counts["succeeded"], 1)
		assert.GreaterOrEqual(c, dash.Counts["failed"], 1)
	}, 30*time.Second, 100*time.Millisecond)
	var pools struct {
		Pools []struct {
			Pool    string `json:"pool"`
			Waiting string `json:"waiting"`
			Workers struct {
				Online int `json:"online"`
			} `json:"workers"`
		} `json:"pools"`
	}
	require.Equal(t, 200, call(t, "GET", d.base+"/v1/pools", "", &pools))
	byPool := map[string]int{}
	for _, p := range pools.Pools {
		byPool[p.Pool] = p.Workers.Online
	}
	// At least: workers of earlier tests on the same tables still count as
	// online until their last heartbeat is older than the offline window.
	require.GreaterOrEqual(t, byPool["default"], 1, "the dev worker serves the default pool")
	require.Equal(t, 0, byPool["idle"])

	// Work waiting in a pool no worker serves: the view says why, and how old.
	waiting := post(t, d, map[string]any{"pool": "idle", "package": pkg, "command": []string{"true"}})
	type poolView struct {
		Pool          string  `json:"pool"`
		Waiting       string  `json:"waiting"`
		OldestPending float64 `json:"oldest_pending_seconds"`
		Queue         struct {
			Visible int `json:"visible"`
		} `json:"queue"`
	}
	var view struct {
		Pools []poolView `json:"pools"`
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, err := send(api, "GET", d.base+"/v1/pools", "", &view)
		require.NoError(c, err)
		require.Equal(c, 200, code)
		i := slices.IndexFunc(view.Pools, func(p poolView) bool { return p.Pool == "idle" })
		require.GreaterOrEqual(c, i, 0, "pool idle listed")
		p := view.Pools[i]
		assert.GreaterOrEqual(c, p.Queue.Visible, 1)
		assert.Equal(c, "no worker is online in this pool", p.Waiting)
		assert.Positive(c, p.OldestPending)
	}, 10*time.Second, 100*time.Millisecond, "%+v", view)
	var stopped map[string]any
	require.Equal(t, http.StatusAccepted, call(t, "POST", d.base+"/v1/executions/"+waiting.ID+"/stop", "", &stopped))

	// Without the token, only health answers.
	resp, err := apiClient(t, d.base).Get(d.base + "/v1/executions/" + ok.ID)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// Ctrl-C stops everything cleanly.
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGINT))
	select {
	case <-d.exited:
		require.NoError(t, d.err, "scaleout dev exit:\n%s", d.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("scaleout dev did not stop within 30s of SIGINT:\n%s", d.logs.String())
	}
	require.Contains(t, lastLines(d.logs.String(), 5), "stopped")
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprint(lines)
}
