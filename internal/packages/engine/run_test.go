package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/task"
)

func TestConstraintsAndResultRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		pkg    string
		want   map[string]Status
		status Status
		err    string            // in Result.Error
		why    map[string]string // in a task's Error
	}{
		{
			name:   "success chain",
			pkg:    `{"tasks": [{"name": "a", "type": "ok"}, {"name": "b", "type": "ok", "after": [{"task": "a"}]}]}`,
			want:   map[string]Status{"a": Succeeded, "b": Succeeded},
			status: Succeeded,
		},
		{
			name: "AND of two predecessors",
			pkg: `{"tasks": [{"name": "a", "type": "ok"}, {"name": "b", "type": "ok"},
				{"name": "c", "type": "ok", "after": [{"task": "a"}, {"task": "b"}]}]}`,
			want:   map[string]Status{"a": Succeeded, "b": Succeeded, "c": Succeeded},
			status: Succeeded,
		},
		{
			name: "one of two predecessors fails: skipped, failure unhandled",
			pkg: `{"tasks": [{"name": "a", "type": "ok"}, {"name": "b", "type": "boom"},
				{"name": "c", "type": "ok", "after": [{"task": "a"}, {"task": "b"}]}]}`,
			want:   map[string]Status{"a": Succeeded, "b": Failed, "c": Skipped},
			status: Failed,
			err:    "b: boom",
			why:    map[string]string{"c": "waits for b on success, and it failed"},
		},
		{
			name: "failure path handles the failure",
			pkg: `{"tasks": [{"name": "a", "type": "boom"},
				{"name": "next", "type": "ok", "after": [{"task": "a"}]},
				{"name": "alert", "type": "ok", "after": [{"task": "a", "on": "failure"}]}]}`,
			want:   map[string]Status{"a": Failed, "next": Skipped, "alert": Succeeded},
			status: Succeeded,
		},
		{
			name: "completion runs after a failure and handles it",
			pkg: `{"tasks": [{"name": "a", "type": "boom"},
				{"name": "cleanup", "type": "ok", "after": [{"task": "a", "on": "completion"}]}]}`,
			want:   map[string]Status{"a": Failed, "cleanup": Succeeded},
			status: Succeeded,
		},
		{
			name: "completion runs after a success; failure path skipped",
			pkg: `{"tasks": [{"name": "a", "type": "ok"},
				{"name": "cleanup", "type": "ok", "after": [{"task": "a", "on": "completion"}]},
				{"name": "alert", "type": "ok", "after": [{"task": "a", "on": "failure"}]}]}`,
			want:   map[string]Status{"a": Succeeded, "cleanup": Succeeded, "alert": Skipped},
			status: Succeeded,
			why:    map[string]string{"alert": "waits for a on failure, and it succeeded"},
		},
		{
			name:   "unhandled failure fails the package",
			pkg:    `{"tasks": [{"name": "a", "type": "boom", "with": {"message": "disk full"}}]}`,
			want:   map[string]Status{"a": Failed},
			status: Failed,
			err:    "a: disk full",
		},
		{
			name: "a failing handler fails the package",
			pkg: `{"tasks": [{"name": "a", "type": "boom"},
				{"name": "alert", "type": "boom", "with": {"message": "alert down"}, "after": [{"task": "a", "on": "failure"}]}]}`,
			want:   map[string]Status{"a": Failed, "alert": Failed},
			status: Failed,
			err:    "alert: alert down",
		},
		{
			name: "a handled handler failure",
			pkg: `{"tasks": [{"name": "a", "type": "boom"},
				{"name": "alert", "type": "boom", "after": [{"task": "a", "on": "failure"}]},
				{"name": "page", "type": "ok", "after": [{"task": "alert", "on": "failure"}]}]}`,
			want:   map[string]Status{"a": Failed, "alert": Failed, "page": Succeeded},
			status: Succeeded,
		},
		{
			name: "a handler whose other constraint fails does not handle",
			pkg: `{"tasks": [{"name": "a", "type": "boom"}, {"name": "b", "type": "boom", "with": {"message": "b broke"}},
				{"name": "alert", "type": "ok", "after": [{"task": "a", "on": "failure"}, {"task": "b"}]}]}`,
			want:   map[string]Status{"a": Failed, "b": Failed, "alert": Skipped},
			status: Failed,
			err:    "a: boom",
		},
		{
			name: "when true",
			pkg: `{"variables": {"rows": {"type": "int", "default": 3}}, "tasks": [{"name": "a", "type": "ok"},
				{"name": "b", "type": "ok", "after": [{"task": "a", "when": "vars.rows > 0"}]}]}`,
			want:   map[string]Status{"a": Succeeded, "b": Succeeded},
			status: Succeeded,
		},
		{
			name: "when false skips",
			pkg: `{"variables": {"rows": {"type": "int"}}, "tasks": [{"name": "a", "type": "ok"},
				{"name": "b", "type": "ok", "after": [{"task": "a", "when": "vars.rows > 0"}]}]}`,
			want:   map[string]Status{"a": Succeeded, "b": Skipped},
			status: Succeeded,
			why:    map[string]string{"b": `when "vars.rows > 0" is false`},
		},
		{
			name: "when on a failure path sees params and tasks",
			pkg: `{"parameters": {"env": {"type": "string", "default": "prod"}}, "tasks": [
				{"name": "a", "type": "boom", "with": {"message": "no route"}},
				{"name": "page", "type": "ok", "after": [{"task": "a", "on": "failure",
					"when": "params.env == \"prod\" && tasks.a.status == \"failed\" && tasks.a.error == \"no route\""}]},
				{"name": "mail", "type": "ok", "after": [{"task": "a", "on": "failure", "when": "params.env == \"dev\""}]}]}`,
			want:   map[string]Status{"a": Failed, "page": Succeeded, "mail": Skipped},
			status: Succeeded,
		},
		{
			name: "when reads a predecessor's outputs",
			pkg: `{"tasks": [{"name": "a", "type": "ok", "with": {"output": {"n": 5}}},
				{"name": "big", "type": "ok", "after": [{"task": "a", "when": "tasks.a.outputs.n > 3"}]},
				{"name": "small", "type": "ok", "after": [{"task": "a", "when": "tasks.a.outputs.n <= 3"}]}]}`,
			want:   map[string]Status{"a": Succeeded, "big": Succeeded, "small": Skipped},
			status: Succeeded,
		},
		{
			name: "a when that cannot be evaluated fails the waiting task",
			pkg: `{"tasks": [{"name": "a", "type": "ok"},
				{"name": "b", "type": "ok", "after": [{"task": "a", "when": "params.missing > 1"}]}]}`,
			want:   map[string]Status{"a": Succeeded, "b": Failed},
			status: Failed,
			err:    "b: after a: expression",
		},
		{
			name: "skipping propagates, even through completion",
			pkg: `{"tasks": [{"name": "a", "type": "ok"},
				{"name": "b", "type": "ok", "after": [{"task": "a", "on": "failure"}]},
				{"name": "c", "type": "ok", "after": [{"task": "b", "on": "completion"}]},
				{"name": "d", "type": "ok", "after": [{"task": "c", "on": "failure"}]}]}`,
			want:   map[string]Status{"a": Succeeded, "b": Skipped, "c": Skipped, "d": Skipped},
			status: Succeeded,
			why:    map[string]string{"c": "b was skipped", "d": "c was skipped"},
		},
		{
			name: "a disabled task passes for its successors",
			pkg: `{"tasks": [{"name": "a", "type": "ok"},
				{"name": "b", "type": "boom", "disabled": true, "after": [{"task": "a"}]},
				{"name": "c", "type": "ok", "after": [{"task": "b"}]}]}`,
			want:   map[string]Status{"a": Succeeded, "b": Skipped, "c": Succeeded},
			status: Succeeded,
			why:    map[string]string{"b": "disabled"},
		},
		{
			name: "a disabled handler handles nothing",
			pkg: `{"tasks": [{"name": "a", "type": "boom"},
				{"name": "alert", "type": "ok", "disabled": true, "after": [{"task": "a", "on": "failure"}]}]}`,
			want:   map[string]Status{"a": Failed, "alert": Skipped},
			status: Failed,
			err:    "a: boom",
		},
		{
			name: "a panicking type fails its task",
			pkg:  `{"tasks": [{"name": "a", "type": "panics", "retry": {"attempts": 3}}]}`,
			want: map[string]Status{"a": Failed}, status: Failed,
			err: `a: task type "panics" panicked: the type has a bug`,
		},
		{
			name:   "an empty package succeeds",
			pkg:    `{"name": "empty", "tasks": []}`,
			want:   map[string]Status{},
			status: Succeeded,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res, _ := b.run(t, tc.pkg, RunOptions{})
			require.Equal(t, tc.want, statuses(res))
			require.Equal(t, tc.status, res.Status, res.Error)
			if tc.err == "" {
				require.Empty(t, res.Error)
			} else {
				require.Contains(t, res.Error, tc.err)
			}
			for path, why := range tc.why {
				require.Contains(t, taskResult(t, res, path).Error, why, path)
			}
		})
	}
}

func TestMaxParallelCapsLeaves(t *testing.T) {
	t.Parallel()
	// Each task holds its slot until `until` tasks run at once.
	many := func(n int, parallel string, until int) string {
		var tasks []string
		for i := range n {
			tasks = append(tasks, fmt.Sprintf(`{"name": "t%d", "type": "peak", "with": {"until": %d}}`, i, until))
		}
		return `{` + parallel + `"tasks": [` + strings.Join(tasks, ",") + `]}`
	}
	for _, tc := range []struct {
		name string
		pkg  string
		opts RunOptions
		want int64
	}{
		{name: "package max_parallel", pkg: many(12, `"max_parallel": 3,`, 3), want: 3},
		{name: "override", pkg: many(12, `"max_parallel": 3,`, 5), opts: RunOptions{MaxParallel: 5}, want: 5},
		{name: "one at a time", pkg: many(6, `"max_parallel": 1,`, 1), want: 1},
		{name: "fewer tasks than the cap", pkg: many(4, `"max_parallel": 10,`, 4), want: 4},
		{
			name: "containers don't count; parallel foreach iterations share the cap",
			pkg: `{"max_parallel": 4, "tasks": [{"name": "outer", "type": "sequence", "tasks": [
				{"name": "each", "type": "foreach", "items": "[1,2,3,4,5,6,7,8,9,10]", "parallel": true, "tasks": [
					{"name": "p", "type": "peak", "with": {"until": 4}}]}]}]}`,
			want: 4,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res, _ := b.run(t, tc.pkg, tc.opts)
			require.Equal(t, Succeeded, res.Status, res.Error)
			require.Equal(t, tc.want, b.peak.max.Load())
		})
	}
}

func TestContainers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		pkg     string
		params  map[string]any
		want    map[string]Status
		order   []string // task_started order, when it is fixed
		status  Status
		err     string
		outputs map[string]any // path → Outputs["with"]["got"]
	}{
		{
			name: "sequence runs its scope; the next task follows the container",
			pkg: `{"tasks": [{"name": "etl", "type": "sequence", "tasks": [
					{"name": "extract", "type": "ok"}, {"name": "load", "type": "ok", "after": [{"task": "extract"}]}]},
				{"name": "report", "type": "ok", "after": [{"task": "etl"}]}]}`,
			want:   map[string]Status{"etl": Succeeded, "etl/extract": Succeeded, "etl/load": Succeeded, "report": Succeeded},
			order:  []string{"etl", "etl/extract", "etl/load", "report"},
			status: Succeeded,
		},
		{
			name: "an unhandled failure fails the sequence, which a failure path outside handles",
			pkg: `{"tasks": [{"name": "etl", "type": "sequence", "tasks": [
					{"name": "extract", "type": "boom"}, {"name": "load", "type": "ok", "after": [{"task": "extract"}]}]},
				{"name": "report", "type": "ok", "after": [{"task": "etl"}]},
				{"name": "alert", "type": "ok", "after": [{"task": "etl", "on": "failure"}]}]}`,
			want: map[string]Status{"etl": Failed, "etl/extract": Failed, "etl/load": Skipped,
				"report": Skipped, "alert": Succeeded},
			status: Succeeded,
		},
		{
			name: "an unhandled failure in a sequence fails the package with the inner path",
			pkg: `{"tasks": [{"name": "etl", "type": "sequence", "tasks": [
					{"name": "extract", "type": "boom", "with": {"message": "no file"}}]}]}`,
			want:   map[string]Status{"etl": Failed, "etl/extract": Failed},
			status: Failed,
			err:    "etl/extract: no file",
		},
		{
			name: "a failure handled inside the sequence",
			pkg: `{"tasks": [{"name": "etl", "type": "sequence", "tasks": [
					{"name": "extract", "type": "boom"}, {"name": "fallback", "type": "ok", "after": [{"task": "extract", "on": "failure"}]}]},
				{"name": "report", "type": "ok", "after": [{"task": "etl"}]}]}`,
			want: map[string]Status{"etl": Succeeded, "etl/extract": Failed, "etl/fallback": Succeeded,
				"report": Succeeded},
			status: Succeeded,
		},
		{
			name: "sequential foreach over params, item in templates",
			pkg: `{"parameters": {"regions": {"type": "list"}}, "tasks": [
				{"name": "per-region", "type": "foreach", "items": "params.regions", "tasks": [
					{"name": "load", "type": "ok", "with": {"got": "region-${item}"}}]}]}`,
			params: map[string]any{"regions": []any{"eu", "us"}},
			want: map[string]Status{"per-region": Succeeded, "per-region[eu]/load": Succeeded,
				"per-region[us]/load": Succeeded},
			order:   []string{"per-region", "per-region[eu]/load", "per-region[us]/load"},
			status:  Succeeded,
			outputs: map[string]any{"per-region[eu]/load": "region-eu", "per-region[us]/load": "region-us"},
		},
		{
			name: "parallel foreach; non-string items are named by index; a lone interpolation keeps its type",
			pkg: `{"tasks": [{"name": "each", "type": "foreach", "items": "[{\"n\": 1}, {\"n\": 2}]", "parallel": true, "tasks": [
					{"name": "a", "type": "ok", "with": {"got": "${item.n * 10}"}},
					{"name": "b", "type": "ok", "after": [{"task": "a"}]}]}]}`,
			want: map[string]Status{"each": Succeeded, "each[0]/a": Succeeded, "each[0]/b": Succeeded,
				"each[1]/a": Succeeded, "each[1]/b": Succeeded},
			status:  Succeeded,
			outputs: map[string]any{"each[0]/a": 10, "each[1]/a": 20},
		},
		{
			name: "a failing sequential iteration stops the loop",
			pkg: `{"tasks": [{"name": "each", "type": "foreach", "items": "[\"ok\", \"bad\", \"later\"]", "tasks": [
					{"name": "a", "type": "boom", "disabled": false, "with": {"message": "bad item"}, "after": [{"task": "gate", "when": "item == \"bad\""}]},
					{"name": "gate", "type": "ok"}]}]}`,
			want: map[string]Status{"each": Failed, "each[ok]/gate": Succeeded, "each[ok]/a": Skipped,
				"each[bad]/gate": Succeeded, "each[bad]/a": Failed},
			status: Failed,
			err:    "1 of 3 iterations failed; first: each[bad]/a: bad item (1 not run)",
		},
		{
			name: "a failing parallel iteration fails the foreach; the others run",
			pkg: `{"tasks": [{"name": "each", "type": "foreach", "items": "[\"ok\", \"bad\", \"also\"]", "parallel": true, "tasks": [
					{"name": "gate", "type": "ok"},
					{"name": "a", "type": "boom", "after": [{"task": "gate", "when": "item == \"bad\""}]}]}]}`,
			want: map[string]Status{"each": Failed, "each[ok]/gate": Succeeded, "each[ok]/a": Skipped,
				"each[bad]/gate": Succeeded, "each[bad]/a": Failed, "each[also]/gate": Succeeded, "each[also]/a": Skipped},
			status: Failed,
			err:    "1 of 3 iterations failed; first: each[bad]/a: boom",
		},
		{
			name:   "no items: the foreach succeeds",
			pkg:    `{"tasks": [{"name": "each", "type": "foreach", "items": "[]", "tasks": [{"name": "a", "type": "boom"}]}]}`,
			want:   map[string]Status{"each": Succeeded},
			status: Succeeded,
		},
		{
			name:   "items that are not a list fail the foreach",
			pkg:    `{"tasks": [{"name": "each", "type": "foreach", "items": "params.n", "tasks": [{"name": "a", "type": "ok"}]}]}`,
			params: map[string]any{"n": 3},
			want:   map[string]Status{"each": Failed},
			status: Failed,
			err:    "each: items: expression \"params.n\": gave int, want a list",
		},
		{
			name: "nested: a foreach in a sequence, item reaches the inner sequence",
			pkg: `{"tasks": [{"name": "all", "type": "sequence", "tasks": [
				{"name": "each", "type": "foreach", "items": "[\"x\"]", "tasks": [
					{"name": "inner", "type": "sequence", "tasks": [{"name": "leaf", "type": "ok", "with": {"got": "${item}!"}}]}]}]}]}`,
			want: map[string]Status{"all": Succeeded, "all/each": Succeeded, "all/each[x]/inner": Succeeded,
				"all/each[x]/inner/leaf": Succeeded},
			order:   []string{"all", "all/each", "all/each[x]/inner", "all/each[x]/inner/leaf"},
			status:  Succeeded,
			outputs: map[string]any{"all/each[x]/inner/leaf": "x!"},
		},
		{
			name:   "an empty sequence succeeds",
			pkg:    `{"tasks": [{"name": "s", "type": "sequence"}, {"name": "b", "type": "ok", "after": [{"task": "s"}]}]}`,
			want:   map[string]Status{"s": Succeeded, "b": Succeeded},
			status: Succeeded,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res, events := b.run(t, tc.pkg, RunOptions{Params: tc.params})
			require.Equal(t, tc.want, statuses(res))
			require.Equal(t, tc.status, res.Status, res.Error)
			if tc.err != "" {
				require.Equal(t, tc.err, res.Error)
			}
			if tc.order != nil {
				var started []string
				for _, e := range events {
					if e.Kind == TaskStarted {
						started = append(started, e.Task)
					}
				}
				require.Equal(t, tc.order, started)
			}
			for path, want := range tc.outputs {
				out := taskResult(t, res, path).Outputs
				require.Equal(t, want, out["with"].(map[string]any)["got"], path)
			}
		})
	}
}

func TestRetryAndTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		task     string
		status   Status
		attempts int
		sleeps   []time.Duration
		err      string
	}{
		{
			name:     "retried until it succeeds, backoff doubling",
			task:     `{"name": "a", "type": "count", "with": {"fail": 3}, "retry": {"attempts": 5, "backoff": "10ms"}}`,
			status:   Succeeded,
			attempts: 4,
			sleeps:   []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
		},
		{
			name:     "attempts run out",
			task:     `{"name": "a", "type": "count", "with": {"fail": 9}, "retry": {"attempts": 3, "backoff": "1s"}}`,
			status:   Failed,
			attempts: 3,
			sleeps:   []time.Duration{time.Second, 2 * time.Second},
			err:      "attempt 3 fails",
		},
		{
			name:     "backoff doubling is capped",
			task:     `{"name": "a", "type": "count", "with": {"fail": 9}, "retry": {"attempts": 4, "backoff": "3m"}}`,
			status:   Failed,
			attempts: 4,
			sleeps:   []time.Duration{3 * time.Minute, 5 * time.Minute, 5 * time.Minute},
		},
		{
			name:     "a permanent error is not retried",
			task:     `{"name": "a", "type": "boom", "with": {"permanent": true}, "retry": {"attempts": 3}}`,
			status:   Failed,
			attempts: 1,
			err:      "boom: permanent failure",
		},
		{
			name:     "no retry policy: one attempt",
			task:     `{"name": "a", "type": "count", "with": {"fail": 1}}`,
			status:   Failed,
			attempts: 1,
		},
		{
			name:     "a task timeout fails the attempt and is retried",
			task:     `{"name": "a", "type": "slow", "timeout": "20ms", "retry": {"attempts": 2}}`,
			status:   Failed,
			attempts: 2,
			sleeps:   []time.Duration{},
			err:      "timed out after 20ms (the task's timeout)",
		},
		{
			name:     "settings that cannot render fail without a retry",
			task:     `{"name": "a", "type": "ok", "with": {"x": "${params.nope + 1}"}, "retry": {"attempts": 3}}`,
			status:   Failed,
			attempts: 1,
			err:      "with: expression",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var mu sync.Mutex
			sleeps := []time.Duration{}
			opts := RunOptions{Sleep: func(ctx context.Context, d time.Duration) error {
				mu.Lock()
				sleeps = append(sleeps, d)
				mu.Unlock()
				return ctx.Err()
			}}
			res, events := b.run(t, `{"tasks": [`+tc.task+`]}`, opts)
			a := taskResult(t, res, "a")
			require.Equal(t, tc.status, a.Status, a.Error)
			require.Equal(t, tc.attempts, a.Attempts)
			require.Contains(t, a.Error, tc.err)
			if tc.sleeps != nil {
				mu.Lock()
				require.Equal(t, tc.sleeps, sleeps)
				mu.Unlock()
			}
			retries := 0
			for _, e := range events {
				if e.Kind == TaskRetry {
					retries++
					require.Equal(t, retries+1, e.Attempt)
				}
			}
			require.Equal(t, tc.attempts-1, retries)
		})
	}
}

func TestPackageTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, events := b.run(t, `{"timeout": "50ms", "tasks": [
		{"name": "quick", "type": "ok"},
		{"name": "wait", "type": "slow"},
		{"name": "after", "type": "ok", "after": [{"task": "wait", "on": "completion"}]}]}`, RunOptions{})
	require.Equal(t, Failed, res.Status)
	require.Equal(t, "package timeout after 50ms", res.Error)
	require.Equal(t, map[string]Status{"quick": Succeeded, "wait": Canceled, "after": Skipped}, statuses(res))
	require.Contains(t, taskResult(t, res, "after").Error, "not started: package timeout after 50ms")
	last := events[len(events)-1]
	require.Equal(t, PackageEnded, last.Kind)
	require.Equal(t, Failed, last.Status)
}

func TestCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plan := b.compile(t, `{"max_parallel": 1, "tasks": [
		{"name": "wait", "type": "slow"},
		{"name": "queued", "type": "ok"},
		{"name": "after", "type": "ok", "after": [{"task": "wait", "on": "completion"}]},
		{"name": "seq", "type": "sequence", "after": [{"task": "wait"}], "tasks": [{"name": "x", "type": "ok"}]}]}`)
	sink := &SliceSink{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		waitFor(t, "wait to start", func() bool {
			for _, e := range sink.Events() {
				if e.Kind == TaskStarted && e.Task == "wait" {
					return true
				}
			}
			return false
		})
		cancel()
	}()
	res, err := Run(ctx, plan, RunOptions{Sink: sink})
	require.NoError(t, err)
	require.Equal(t, Canceled, res.Status, res.Error)
	require.Equal(t, "package canceled", res.Error)
	require.Equal(t, map[string]Status{"wait": Canceled, "queued": Skipped, "after": Skipped, "seq": Skipped}, statuses(res))
	require.Equal(t, "canceled: package canceled", taskResult(t, res, "wait").Error)
}

func TestCancelGraceLeavesStuckTasksBehind(t *testing.T) {
	t.Parallel()
	b := setup(t)
	release := make(chan struct{})
	defer close(release)
	require.NoError(t, b.reg.Register("stuck", stuck{release}))
	plan := b.compile(t, `{"tasks": [{"name": "s", "type": "stuck"}, {"name": "next", "type": "ok", "after": [{"task": "s"}]}]}`)
	sink := &SliceSink{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		waitFor(t, "s to start", func() bool { return len(sink.Events()) >= 2 })
		cancel()
	}()
	res, err := Run(ctx, plan, RunOptions{Sink: sink, CancelGrace: 20 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, Canceled, res.Status)
	require.Equal(t, "package canceled; tasks still running 20ms later were left behind", res.Error)
	require.Equal(t, map[string]Status{"s": Canceled, "next": Skipped}, statuses(res))
	require.Equal(t, "did not stop within 20ms of the cancel", taskResult(t, res, "s").Error)
	require.Equal(t, PackageEnded, sink.Events()[len(sink.Events())-1].Kind)
}

// stuck ignores its context until released.
type stuck struct{ release chan struct{} }

func (stuck) Check(map[string]any) error { return nil }
func (s stuck) Run(context.Context, task.Input) (task.Output, error) {
	<-s.release
	return nil, nil
}

func TestOutputsAndSet(t *testing.T) {
	t.Parallel()
	vars := `"variables": {"rows": {"type": "int"}, "name": {"type": "string", "default": "none"},
		"ratio": {"type": "float"}, "ids": {"type": "list"}, "ok": {"type": "bool"},
		"when": {"type": "datetime"}, "total": {"type": "int", "default": 1}}`
	for _, tc := range []struct {
		name   string
		tasks  string
		want   map[string]any // vars
		status Status
		err    string
	}{
		{
			name: "outputs read paths and convert to the declared types",
			tasks: `{"name": "a", "type": "ok", "with": {"output": {"body": {"count": 42, "rows": [{"id": "x"}], "r": "0.5",
					"ids": "[1, 2]", "ok": "true", "at": "2026-11-25T10:00:00Z"}}},
				"outputs": {"rows": "body.count", "name": "body.rows.0.id", "ratio": "body.r", "ids": "body.ids",
					"ok": "body.ok", "when": "body.at"}}`,
			want: map[string]any{"rows": 42, "name": "x", "ratio": 0.5, "ids": []any{1.0, 2.0}, "ok": true,
				"when": time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), "total": 1},
			status: Succeeded,
		},
		{
			name:   "a missing path fails the task",
			tasks:  `{"name": "a", "type": "ok", "outputs": {"rows": "body.count"}}`,
			status: Failed,
			err:    `outputs.rows: path "body.count": no "body" in the task's output`,
		},
		{
			name:   "a value that does not convert fails the task",
			tasks:  `{"name": "a", "type": "ok", "with": {"output": {"n": 1.5}}, "outputs": {"rows": "n"}}`,
			status: Failed,
			err:    "outputs.rows: variable is a int: 1.5 is not a whole number",
		},
		{
			name: "set writes vars; later tasks see them in when and templates",
			tasks: `{"name": "s", "type": "set", "with": {"values": {"rows": 7, "name": "${params.who}"}}},
				{"name": "b", "type": "ok", "with": {"output": {"v": "${vars.name}:${vars.rows}"}}, "outputs": {"name": "v"},
					"after": [{"task": "s", "when": "vars.rows == 7"}]}`,
			want:   map[string]any{"rows": 7, "name": "ann:7", "ratio": 0.0, "ids": []any{}, "ok": false, "when": time.Time{}, "total": 1},
			status: Succeeded,
		},
		{
			name:   "set through Input.Eval",
			tasks:  `{"name": "s", "type": "set", "with": {"eval": "vars.total + 1"}, "outputs": {"total": "eval"}}`,
			want:   map[string]any{"rows": 0, "name": "none", "ratio": 0.0, "ids": []any{}, "ok": false, "when": time.Time{}, "total": 2},
			status: Succeeded,
		},
		{
			name: "Input.Eval sees tasks, even from a setting with no ${...}",
			tasks: `{"name": "a", "type": "ok", "with": {"output": {"n": 20}}},
				{"name": "s", "type": "set", "with": {"eval": "tasks.a.outputs.n + vars.total"}, "outputs": {"total": "eval"}, "after": [{"task": "a"}]}`,
			want:   map[string]any{"rows": 0, "name": "none", "ratio": 0.0, "ids": []any{}, "ok": false, "when": time.Time{}, "total": 21},
			status: Succeeded,
		},
		{
			name:   "set of an undeclared variable fails",
			tasks:  `{"name": "s", "type": "set", "with": {"values": {"nope": 1}}}`,
			status: Failed,
			err:    `set: variable "nope" is not declared`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res, _ := b.run(t, `{`+vars+`, "parameters": {"who": {"type": "string", "default": "ann"}}, "tasks": [`+tc.tasks+`]}`, RunOptions{})
			require.Equal(t, tc.status, res.Status, res.Error)
			if tc.want != nil {
				require.Equal(t, tc.want, res.Vars)
			}
			require.Contains(t, res.Error, tc.err)
		})
	}
}

func TestParallelIterationsWriteTheSameVariable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, _ := b.run(t, `{"variables": {"last": {"type": "string"}}, "tasks": [
		{"name": "each", "type": "foreach", "items": "[\"a\", \"b\", \"c\", \"d\"]", "parallel": true, "tasks": [
			{"name": "s", "type": "set", "with": {"values": {"last": "${item}"}}}]}]}`, RunOptions{})
	require.Equal(t, Succeeded, res.Status, res.Error)
	require.Contains(t, []any{"a", "b", "c", "d"}, res.Vars["last"]) // the last write wins
}

func TestEventsOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, events := b.run(t, `{"name": "p", "tasks": [
		{"name": "a", "type": "ok", "with": {"say": "hello", "warn": "careful"}},
		{"name": "b", "type": "count", "with": {"fail": 1}, "retry": {"attempts": 2}, "after": [{"task": "a"}]},
		{"name": "c", "type": "ok", "after": [{"task": "a", "on": "failure"}]},
		{"name": "d", "type": "ok", "after": [{"task": "a", "when": "params.missing > 1"}]},
		{"name": "e", "type": "ok", "after": [{"task": "d", "on": "failure"}]},
		{"name": "each", "type": "foreach", "items": "[1, 2]", "parallel": true, "tasks": [{"name": "x", "type": "noop"}]}]}`,
		RunOptions{})
	require.Equal(t, PackageStarted, events[0].Kind)
	require.Equal(t, "p", events[0].Message)
	require.Equal(t, PackageEnded, events[len(events)-1].Kind)
	require.Equal(t, Succeeded, events[len(events)-1].Status)
	started := map[string]int{}
	ended := map[string]int{}
	for i, e := range events {
		require.False(t, e.Time.IsZero())
		switch e.Kind {
		case PackageStarted, PackageEnded:
			require.True(t, i == 0 || i == len(events)-1)
		case TaskStarted:
			require.NotContains(t, started, e.Task)
			started[e.Task] = i
		case TaskEnded:
			require.Contains(t, started, e.Task, "task_ended before task_started")
			ended[e.Task] = i
		case TaskSkipped:
			require.NotContains(t, started, e.Task)
			ended[e.Task] = i
		case Output, Warning, Error, TaskRetry:
			require.Contains(t, started, e.Task)
			require.NotContains(t, ended, e.Task)
		}
	}
	require.Len(t, ended, 8) // a, b, d (failed before it started), e, each, each[0]/x, each[1]/x, and the skipped c
	require.Less(t, ended["each[0]/x"], ended["each"])
	require.Less(t, ended["a"], started["b"])
	kinds := map[Kind][]Event{}
	for _, e := range events {
		if e.Kind == Error && e.Task == "d" { // listed last below
			continue
		}
		kinds[e.Kind] = append(kinds[e.Kind], e)
	}
	for _, e := range events {
		if e.Kind == Error && e.Task == "d" {
			kinds[Error] = append(kinds[Error], e)
		}
	}
	require.Equal(t, "hello", kinds[Output][0].Message)
	require.Equal(t, "stdout", kinds[Output][0].Stream)
	require.Equal(t, "careful", kinds[Warning][0].Message)
	require.Equal(t, "attempt 1 fails", kinds[TaskRetry][0].Message)
	require.Equal(t, "attempt 1 fails", kinds[Error][0].Message)
	require.Equal(t, 1, kinds[Error][0].Attempt)
	require.Equal(t, "d", kinds[Error][1].Task)
	require.Contains(t, kinds[Error][1].Message, "after a: expression")
}

func TestSinks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plan := b.compile(t, `{"tasks": [{"name": "a", "type": "noop"}]}`)

	ch := make(ChanSink, 16)
	_, err := Run(context.Background(), plan, RunOptions{Sink: ch})
	require.NoError(t, err)
	close(ch)
	var kinds []Kind
	for e := range ch {
		kinds = append(kinds, e.Kind)
	}
	require.Equal(t, []Kind{PackageStarted, TaskStarted, TaskEnded, PackageEnded}, kinds)

	kinds = nil
	_, err = Run(context.Background(), plan, RunOptions{Sink: SinkFunc(func(e Event) { kinds = append(kinds, e.Kind) })})
	require.NoError(t, err)
	require.Equal(t, []Kind{PackageStarted, TaskStarted, TaskEnded, PackageEnded}, kinds)
}

func TestInjectedClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	res, events := b.run(t, `{"tasks": [{"name": "a", "type": "noop"}]}`, RunOptions{Now: clock})
	a := taskResult(t, res, "a")
	require.Equal(t, time.Second, a.Ended.Sub(a.Started))
	require.Equal(t, 2026, res.Started.Year())
	for _, e := range events {
		if e.Kind == TaskEnded {
			require.Equal(t, time.Second, e.Duration)
		}
	}
}

func TestPlanRunsConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plan := b.compile(t, `{"variables": {"n": {"type": "int"}}, "tasks": [
		{"name": "s", "type": "set", "with": {"values": {"n": "${params.n}"}}},
		{"name": "b", "type": "ok", "after": [{"task": "s", "when": "tasks.s.status == \"succeeded\""}]}]}`)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			// assert, not require: FailNow must not be called from
			// another goroutine than the test's.
			res, err := Run(context.Background(), plan, RunOptions{Params: map[string]any{"n": i}})
			if assert.NoError(t, err) {
				assert.Equal(t, Succeeded, res.Status, res.Error)
				assert.Equal(t, i, res.Vars["n"])
			}
		})
	}
	wg.Wait()
}

func TestRunWithoutPlan(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), nil, RunOptions{})
	require.ErrorContains(t, err, "compile the package first")
}
