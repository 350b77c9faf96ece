package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testlog"
	"github.com/scaleout/scaleout/localstack/standins"
)

// TestSingleComputerSurvivesSIGKILL runs the single-computer mode with its
// own stand-ins and a data directory, kills it with SIGKILL while
// executions run and others wait, stops its stand-ins too (as a reboot
// would: the SQS emulator's messages are gone), starts it again on the same
// data, and checks that the catalog is intact and that every execution
// reaches a final state with its messages.
func TestSingleComputerSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("restart: about a minute")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := buildScaleout(t)
	data := t.TempDir()
	ports := map[string]string{standins.EnvDynamoDBPort: freePort(t), standins.EnvSQSPort: freePort(t)}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_ENDPOINT_URL") { // its own stand-ins, not the tests'
			env = append(env, kv)
		}
	}
	for k, v := range ports {
		env = append(env, k+"="+v)
	}
	env = append(env, "SCALEOUT_TOKEN="+token, "SCALEOUT_WORKER_CONCURRENCY=2", "SCALEOUT_LEASE=6s",
		"SCALEOUT_POLL_WAIT=1s", "SCALEOUT_PENDING_AFTER=5s", "SCALEOUT_LOST_AFTER=3s", "SCALEOUT_RECONCILE_INTERVAL=2s")
	t.Cleanup(func() {
		down := exec.Command(bin, "standins", "down")
		down.Env = env
		_ = down.Run()
	})
	start := func() *dev {
		addr := freeAddr(t)
		d := &dev{base: "http://" + addr, logs: &testlog.Buffer{}, exited: make(chan struct{})}
		d.cmd = exec.Command(bin, "dev", "--addr", addr, "--prefix", "restart", "--data", data)
		d.cmd.Env = env
		d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
		require.NoError(t, d.cmd.Start())
		go func() { d.err = d.cmd.Wait(); close(d.exited) }()
		t.Cleanup(func() {
			_ = d.cmd.Process.Kill()
			<-d.exited
			if t.Failed() {
				t.Logf("scaleout dev output:\n%s", d.logs.String())
			}
		})
		require.Eventually(t, func() bool {
			resp, err := http.Get(d.base + "/v1/health")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 90*time.Second, 200*time.Millisecond, "scaleout dev never answered:\n%s", d.logs.String())
		checkAPI(t, d.base, token)
		return d
	}

	d := start()
	require.Eventually(t, func() bool { return strings.Contains(d.logs.String(), "Data: "+data) }, 10*time.Second, 50*time.Millisecond,
		"it names its data directory")
	require.Equal(t, http.StatusCreated, call(t, "POST", d.base+"/v1/folders", `{"name":"kept","description":"survives"}`, nil))
	var ids []string
	for i := range 5 {
		var e struct {
			ID string `json:"id"`
		}
		body := fmt.Sprintf(`{"folder":"kept","package":"p%d","command":["sh","-c","echo started; sleep 4; echo done"]}`, i)
		require.Equal(t, http.StatusCreated, call(t, "POST", d.base+"/v1/executions", body, &e))
		ids = append(ids, e.ID)
	}
	status := func(d *dev, id string) string {
		var e struct {
			Status string `json:"status"`
		}
		call(t, "GET", d.base+"/v1/executions/"+id, "", &e)
		return e.Status
	}
	var running []string
	require.Eventually(t, func() bool {
		running = running[:0]
		for _, id := range ids {
			if status(d, id) == "running" {
				running = append(running, id)
			}
		}
		return len(running) == 2
	}, 30*time.Second, 100*time.Millisecond, "two executions never ran at once")

	// SIGKILL, then the stand-ins go too, as in a reboot.
	require.NoError(t, d.cmd.Process.Kill()) // SIGKILL
	<-d.exited
	down := exec.Command(bin, "standins", "down")
	down.Env = env
	out, err := down.CombinedOutput()
	require.NoError(t, err, "standins down: %s", out)

	d = start()
	var folder struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/folders/kept", "", &folder))
	require.Equal(t, "survives", folder.Description, "the catalog outlasts the restart")
	lost := map[string]bool{}
	for _, id := range ids {
		require.Eventually(t, func() bool { return status(d, id) == "succeeded" }, 90*time.Second, 250*time.Millisecond,
			"execution %s never succeeded after the restart (it is %s)", id, status(d, id))
		var e struct {
			Attempts []struct {
				Outcome string `json:"outcome"`
			} `json:"attempts"`
		}
		call(t, "GET", d.base+"/v1/executions/"+id, "", &e)
		if len(e.Attempts) > 0 && e.Attempts[0].Outcome == "lost" {
			lost[id] = true
		}
		var msgs struct {
			Messages []struct {
				Kind    string `json:"kind"`
				Message string `json:"message"`
			} `json:"messages"`
		}
		require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/executions/"+id+"/messages?limit=1000", "", &msgs))
		raw, _ := json.Marshal(msgs)
		require.Contains(t, string(raw), "done", "execution %s has the messages of the attempt that ended it", id)
	}
	// The two that ran when it was killed were recovered as lost attempts.
	// On a loaded machine a renewal of the new process can time out too and
	// lose another attempt, which is recovered the same way; the two must be
	// among the lost.
	for _, id := range running {
		require.True(t, lost[id], "execution %s ran when the process was killed, and its first attempt is not recorded as lost", id)
	}
	require.NoError(t, ctx.Err())
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatalf("free port of %q: %v", addr, err)
	}
	return port
}
