package engine

import (
	"github.com/scaleout/scaleout/internal/testkit/proctest"

	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCancelKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	b := setup(t)
	plan := b.compile(t, `{"tasks": [
		{"name": "run", "type": "shell", "with": {"script": "echo $$; sleep 30 & echo $!; sleep 30 & echo $!; wait"}},
		{"name": "next", "type": "ok", "after": [{"task": "run", "on": "completion"}]}]}`)
	sink := &SliceSink{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pids := func() []int {
		var out []int
		for _, e := range sink.Events() {
			if e.Kind == Output {
				n, err := strconv.Atoi(e.Message)
				if !assert.NoError(t, err) { // also called from waitFor's goroutine
					continue
				}
				out = append(out, n)
			}
		}
		return out
	}
	go func() {
		waitFor(t, "the shell and its two children", func() bool { return len(pids()) == 3 })
		cancel()
	}()
	res, err := Run(ctx, plan, RunOptions{Sink: sink})
	require.NoError(t, err)
	canceledAt := time.Now()
	require.Equal(t, Canceled, res.Status)
	require.Equal(t, map[string]Status{"run": Canceled, "next": Skipped}, statuses(res))

	all := pids()
	require.Len(t, all, 3)
	deadline := canceledAt.Add(time.Second)
	for _, pid := range all {
		for proctest.Alive(pid) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond) // poll with a deadline
		}
		require.False(t, proctest.Alive(pid), "process %d still runs 1 s after the cancel", pid)
	}
}
