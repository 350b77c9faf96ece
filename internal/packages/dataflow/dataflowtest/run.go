package dataflowtest

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.yaml.in/yaml/v3"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// Result is what Run gives.
type Result struct {
	// Output is the task's output (statistics, tap, results); Err the
	// run's error.
	Output task.Output
	Err    error
	// Allocator is the checked allocator the run used.
	Allocator *memory.CheckedAllocator
	store     *store
}

// Collected is what the collect component name received (empty when it
// received nothing).
func (r *Result) Collected(name string) *Collected { return r.store.get(name) }

// Option changes how Run runs.
type Option func(*options)

type options struct {
	register []func(*dataflow.Registry)
	env      dataflow.Env
	ctx      context.Context
}

// Use adds the component types of these Register functions (such as
// transform.Register).
func Use(register ...func(*dataflow.Registry)) Option {
	return func(o *options) { o.register = append(o.register, register...) }
}

// WithEnv runs with env (connections, scratch directory, params, vars);
// its Allocator is replaced by a checked one.
func WithEnv(env dataflow.Env) Option { return func(o *options) { o.env = env } }

// WithContext runs under ctx (to stop the flow).
func WithContext(ctx context.Context) Option { return func(o *options) { o.ctx = ctx } }

// Registry is a registry with values, collect and the types of register.
func Registry(register ...func(*dataflow.Registry)) *dataflow.Registry {
	r, _ := registry(register)
	return r
}

func registry(register []func(*dataflow.Registry)) (*dataflow.Registry, *store) {
	st := &store{m: map[string]*Collected{}}
	r := dataflow.NewRegistry()
	r.MustRegister("values", Values{})
	r.MustRegister("collect", Collect{store: st})
	for _, f := range register {
		f(r)
	}
	return r, st
}

// Graph reads a graph written as YAML (a task's `with`) or given as a map.
func Graph(t testing.TB, graph any) map[string]any {
	t.Helper()
	switch g := graph.(type) {
	case map[string]any:
		return g
	case string:
		var m map[string]any
		if err := yaml.Unmarshal([]byte(g), &m); err != nil {
			t.Fatalf("graph YAML: %v", err)
		}
		return m
	}
	t.Fatalf("graph: want YAML or a map, not %T", graph)
	return nil
}

// Check validates a graph as package validation does.
func Check(t testing.TB, graph any, opts ...Option) error {
	t.Helper()
	o := apply(opts)
	reg, _ := registry(o.register)
	return dataflow.Check(reg, Graph(t, graph))
}

func apply(opts []Option) *options {
	o := &options{ctx: context.Background()}
	for _, f := range opts {
		f(o)
	}
	return o
}

// Run plans and runs a graph (YAML or a map) with values, collect and
// the types of Use. It fails the test when the run leaks a batch (a
// checked allocator still holds bytes at the end) or takes over a
// minute; the run's error is in Result.Err.
func Run(t testing.TB, graph any, opts ...Option) *Result {
	t.Helper()
	o := apply(opts)
	reg, st := registry(o.register)
	with := Graph(t, graph)
	checked := memory.NewCheckedAllocator(memory.NewGoAllocator())
	env := o.env
	env.Allocator = checked
	if env.Dir == "" {
		env.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(o.ctx, time.Minute)
	defer cancel()
	out, err := dataflow.Run(ctx, reg, with, env)
	if n := checked.CurrentAlloc(); n != 0 {
		t.Errorf("the flow leaked %d bytes of batches (a batch not released)", n)
	}
	return &Result{Output: out, Err: err, Allocator: checked, store: st}
}

// MustRun is Run that fails the test when the run fails.
func MustRun(t testing.TB, graph any, opts ...Option) *Result {
	t.Helper()
	r := Run(t, graph, opts...)
	if r.Err != nil {
		t.Fatalf("dataflow run: %v", r.Err)
	}
	return r
}
