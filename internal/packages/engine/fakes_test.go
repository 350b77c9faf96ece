package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// Fake task types, small enough to read at a glance. None of them checks
// its settings.

// noop does nothing.
type noop struct{}

func (noop) Check(map[string]any) error                           { return nil }
func (noop) Run(context.Context, task.Input) (task.Output, error) { return nil, nil }

// ok succeeds; it logs with.say as an output line and with.warn as a
// warning, and returns with.output (a map) plus {"with": with}.
type ok struct{}

func (ok) Check(map[string]any) error { return nil }
func (ok) Run(_ context.Context, in task.Input) (task.Output, error) {
	if s, _ := in.With["say"].(string); s != "" {
		in.Log.Output("stdout", s)
	}
	if s, _ := in.With["warn"].(string); s != "" {
		in.Log.Warn(s)
	}
	out := task.Output{"with": in.With}
	if m, _ := in.With["output"].(map[string]any); m != nil {
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// boom fails with with.message (default "boom"), permanently when
// with.permanent is true.
type boom struct{}

func (boom) Check(map[string]any) error { return nil }
func (boom) Run(_ context.Context, in task.Input) (task.Output, error) {
	msg, _ := in.With["message"].(string)
	if msg == "" {
		msg = "boom"
	}
	if p, _ := in.With["permanent"].(bool); p {
		return nil, fmt.Errorf("%s: %w", msg, task.ErrPermanent)
	}
	return nil, errors.New(msg)
}

// slow blocks until its context ends.
type slow struct{}

func (slow) Check(map[string]any) error { return nil }
func (slow) Run(ctx context.Context, _ task.Input) (task.Output, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// count fails the first with.fail attempts of each task path, then
// succeeds; it records every attempt.
type count struct {
	mu       sync.Mutex
	attempts map[string]int
}

func (*count) Check(map[string]any) error { return nil }
func (c *count) Run(_ context.Context, in task.Input) (task.Output, error) {
	c.mu.Lock()
	c.attempts[in.Task]++
	n := c.attempts[in.Task]
	c.mu.Unlock()
	if f, _ := in.With["fail"].(float64); n <= int(f) {
		return nil, fmt.Errorf("attempt %d fails", n)
	}
	return task.Output{"attempt": n}, nil
}

// peak measures how many of its tasks run at once: each holds its slot
// until with.until tasks run together (or a second passes), so that the
// peak reaches the cap when the cap allows it.
type peak struct {
	cur, max atomic.Int64
}

func (*peak) Check(map[string]any) error { return nil }
func (p *peak) Run(ctx context.Context, in task.Input) (task.Output, error) {
	n := p.cur.Add(1)
	defer p.cur.Add(-1)
	for {
		m := p.max.Load()
		if n <= m || p.max.CompareAndSwap(m, n) {
			break
		}
	}
	until, _ := in.With["until"].(float64)
	deadline := time.Now().Add(time.Second)
	for p.max.Load() < int64(until) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Microsecond) // poll with a deadline
	}
	return nil, nil
}

// setvars returns Output{"values": with.values}: registered as "set", the
// engine writes the values into vars. It also evaluates with.eval through
// Input.Eval, returning the result as "eval".
type setvars struct{}

func (setvars) Check(map[string]any) error { return nil }
func (setvars) Run(_ context.Context, in task.Input) (task.Output, error) {
	out := task.Output{"values": in.With["values"]}
	if src, _ := in.With["eval"].(string); src != "" {
		v, err := in.Eval(src)
		if err != nil {
			return nil, err
		}
		out["eval"] = v
	}
	return out, nil
}

// panics panics.
type panics struct{}

func (panics) Check(map[string]any) error { return nil }
func (panics) Run(context.Context, task.Input) (task.Output, error) {
	panic("the type has a bug")
}

// shell runs with.script under sh in a process group of its own, forwards
// stdout lines, and kills the whole group when ctx ends: the contract the
// real exec type must keep.
type shell struct{}

func (shell) Check(map[string]any) error { return nil }
func (shell) Run(ctx context.Context, in task.Input) (task.Output, error) {
	script, _ := in.With["script"].(string)
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		in.Log.Output("stdout", sc.Text())
	}
	return nil, cmd.Wait()
}

// bundle is what setup returns besides the registry.
type bundle struct {
	reg   *task.Registry
	count *count
	peak  *peak
}

func setup(t *testing.T) bundle {
	t.Helper()
	b := bundle{reg: task.NewRegistry(), count: &count{attempts: map[string]int{}}, peak: &peak{}}
	for name, typ := range map[string]task.Type{
		"noop": noop{}, "ok": ok{}, "boom": boom{}, "slow": slow{}, "count": b.count,
		"peak": b.peak, "set": setvars{}, "panics": panics{}, "shell": shell{},
	} {
		b.reg.MustRegister(name, typ)
	}
	return b
}

// parse reads a package written as JSON (numbers in `with` are float64, as
// a parsed package file has them).
func parse(t *testing.T, src string) *pkgfile.Package {
	t.Helper()
	var p pkgfile.Package
	require.NoError(t, json.Unmarshal([]byte(src), &p), src)
	return &p
}

// compile parses and compiles a package.
func (b bundle) compile(t *testing.T, src string) *Plan {
	t.Helper()
	plan, err := Compile(parse(t, src), b.reg)
	require.NoError(t, err)
	return plan
}

// run compiles and runs a package, returning the result and the events.
func (b bundle) run(t *testing.T, src string, opts RunOptions) (Result, []Event) {
	t.Helper()
	plan := b.compile(t, src)
	sink := &SliceSink{}
	opts.Sink = sink
	res, err := Run(context.Background(), plan, opts)
	require.NoError(t, err)
	return res, sink.Events()
}

// statuses maps each task path to its status.
func statuses(res Result) map[string]Status {
	out := make(map[string]Status, len(res.Tasks))
	for _, tr := range res.Tasks {
		out[tr.Path] = tr.Status
	}
	return out
}

func taskResult(t *testing.T, res Result, path string) TaskResult {
	t.Helper()
	for _, tr := range res.Tasks {
		if tr.Path == path {
			return tr
		}
	}
	require.Failf(t, "no such task", "%q not in %v", path, statuses(res))
	return TaskResult{}
}

// waitFor polls cond until it holds or the deadline passes. The tests call
// it from a goroutine of their own, where FailNow is invalid: a time-out
// fails the test with assert and returns, and the caller goes on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			assert.Fail(t, "timed out waiting for "+what)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func envFor(params map[string]any, item any, tasks map[string]any) expression.Env {
	return expression.Env{Params: params, Item: item, Tasks: tasks}
}

func splitPath(p string) []string { return strings.Split(p, ".") }
