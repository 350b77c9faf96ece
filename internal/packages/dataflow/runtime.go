package dataflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// PathCapacity is how many batches a path holds before its producer
// waits for the consumer (back-pressure).
const PathCapacity = 4

// Env is what a run of a flow gets from its task.
type Env struct {
	// Connections and Dir are the run's connections and scratch
	// directory.
	Connections task.Connections
	Dir         string
	// Params, Vars and System are what row expressions see as params,
	// vars and system.
	Params map[string]any
	Vars   map[string]any
	System any
	// Log receives the components' log lines (nil: none); Warn shows a
	// line in the execution's messages (nil: logged only).
	Log  *slog.Logger
	Warn func(message string)
	// Allocator is the allocator batches come from, counted by the run
	// (nil: Go's).
	Allocator memory.Allocator
}

func (e Env) planEnv(ctx context.Context) *planEnv {
	roots := map[string]any{}
	if e.Params != nil {
		roots[paramsRoot] = e.Params
	}
	if e.Vars != nil {
		roots[varsRoot] = e.Vars
	}
	if e.System != nil {
		roots[systemRoot] = e.System
	}
	return &planEnv{ctx: ctx, conns: e.Connections, dir: e.Dir, roots: roots}
}

// Prepare decodes with (every value resolved) and plans every component
// for a run.
func Prepare(ctx context.Context, reg *Registry, with map[string]any, env Env) (*Flow, error) {
	var ps problems
	g := decodeGraph(with, false, &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	f := planGraph(reg, g, env.planEnv(ctx), &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// Run prepares and runs a flow: see Flow.Run.
func Run(ctx context.Context, reg *Registry, with map[string]any, env Env) (task.Output, error) {
	f, err := Prepare(ctx, reg, with, env)
	if err != nil {
		return nil, err
	}
	return f.Run(ctx, env)
}

// Run runs a prepared flow once: every component in its own goroutine,
// paths as bounded channels. It returns when every component has
// returned, with the statistics (see Stats) also when it fails; the
// error is the first component's, prefixed with it, or ctx's.
func (f *Flow) Run(ctx context.Context, env Env) (task.Output, error) {
	if !f.forRun {
		return nil, errors.New("dataflow: the flow was planned for checking, not to run")
	}
	fr := newFlowRun(f, env)
	err := fr.run(ctx)
	return fr.stats(), err
}

// flowRun is one run of a flow.
type flowRun struct {
	flow    *Flow
	env     Env
	alloc   *countingAllocator
	budget  *budget
	paths   []*pathState
	comps   []*compRun
	log     *slog.Logger
	results sync.Map
}

// pathState is one output of one component while running.
type pathState struct {
	name     string
	schema   *arrow.Schema
	rows     atomic.Int64
	links    []*link
	fromSrc  bool // a source's output (rows_read)
	errorOut bool
	tap      *tapState
}

// link carries one path's batches to one input.
type link struct {
	ch       chan arrow.RecordBatch
	done     chan struct{} // closed when the consumer returns
	producer *compRun
}

// errNoReaders ends a component whose every reader has finished early.
var errNoReaders = errors.New("every component reading its outputs has finished")

func newFlowRun(f *Flow, env Env) *flowRun {
	fr := &flowRun{flow: f, env: env, alloc: newCountingAllocator(env.Allocator), budget: newBudget(f.Graph.MemoryLimit)}
	fr.log = env.Log
	if fr.log == nil {
		fr.log = slog.New(slog.DiscardHandler)
	}
	links := map[*edge]*link{}
	for _, n := range f.order {
		for _, e := range n.inputs {
			links[e] = &link{ch: make(chan arrow.RecordBatch, PathCapacity), done: make(chan struct{})}
		}
	}
	for _, n := range f.order {
		c := &compRun{fr: fr, n: n, outByName: map[string]*outputImpl{}}
		c.log = fr.log.With("component", n.spec.Name, "type", n.spec.Type)
		for _, e := range n.inputs {
			schema, _ := e.from.outputSchema(e.output)
			c.inputs = append(c.inputs, &inputImpl{c: c, path: e.path(), schema: schema, link: links[e]})
		}
		mk := func(name string, schema *arrow.Schema) *outputImpl {
			p := &pathState{name: n.spec.Name + "." + name, schema: schema, fromSrc: len(n.inputs) == 0, errorOut: name == ErrorOutputName}
			for _, e := range n.consumer[name] {
				l := links[e]
				l.producer = c
				c.liveLinks.Add(1)
				p.links = append(p.links, l)
			}
			if t := f.Graph.Tap; t != nil && t.Path == p.name {
				p.tap = &tapState{max: t.Rows}
			}
			fr.paths = append(fr.paths, p)
			return &outputImpl{c: c, path: p}
		}
		for _, o := range n.plan.Outputs {
			out := mk(o.Name, o.Schema)
			c.outputs = append(c.outputs, out)
			c.outByName[o.Name] = out
		}
		if n.spec.OnError == OnErrorRedirect {
			c.errOut = mk(ErrorOutputName, n.errCols)
		}
		fr.comps = append(fr.comps, c)
	}
	return fr
}

// run starts every component and waits for all; then it releases what
// the paths still hold.
func (fr *flowRun) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range fr.comps {
		c.ctx, c.cancel = context.WithCancelCause(gctx)
	}
	for _, c := range fr.comps {
		g.Go(func() error { return c.run(gctx) })
	}
	err := g.Wait()
	for _, c := range fr.comps {
		for _, in := range c.inputs {
			for b := range in.link.ch {
				b.Release()
			}
		}
	}
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("dataflow stopped: %w", context.Cause(ctx))
	}
	return err
}

// compRun is one running component: its Runtime.
type compRun struct {
	fr        *flowRun
	n         *node
	inputs    []*inputImpl
	outputs   []*outputImpl
	outByName map[string]*outputImpl
	errOut    *outputImpl
	log       *slog.Logger

	rowsIn   atomic.Int64
	rejected atomic.Int64
	// liveLinks counts the inputs reading this component that have not
	// finished; at zero the component is stopped (cancel, errNoReaders).
	liveLinks atomic.Int32
	ctx       context.Context //nolint:containedctx // the component's own, made before it starts
	cancel    context.CancelCauseFunc
	errRows   *array.RecordBuilder // pending redirected rows
}

func (c *compRun) run(parent context.Context) (err error) {
	ctx := c.ctx
	defer c.cancel(nil)
	defer func() {
		for _, in := range c.inputs {
			close(in.link.done)
			if p := in.link.producer; p != nil && p.liveLinks.Add(-1) == 0 {
				p.cancel(errNoReaders)
			}
		}
		for _, o := range c.allOutputs() {
			for _, l := range o.path.links {
				close(l.ch)
			}
		}
	}()
	err = c.safeRun(ctx)
	if err == nil {
		err = c.flushErrors(ctx)
	}
	if c.errRows != nil {
		c.errRows.Release()
		c.errRows = nil
	}
	if err != nil && parent.Err() == nil && errors.Is(context.Cause(ctx), errNoReaders) {
		return nil // nobody reads its rows any more: done
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c.n.spec.label(), err)
	}
	return nil
}

func (c *compRun) safeRun(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("component panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("failed unexpectedly: %v", r)
		}
	}()
	return c.n.plan.Runner.Run(ctx, c)
}

func (c *compRun) allOutputs() []*outputImpl {
	if c.errOut == nil {
		return c.outputs
	}
	return append(append([]*outputImpl(nil), c.outputs...), c.errOut)
}

// Runtime.

func (c *compRun) Component() string { return c.n.spec.Name }
func (c *compRun) Type() string      { return c.n.spec.Type }

func (c *compRun) Inputs() []Input {
	out := make([]Input, len(c.inputs))
	for i, in := range c.inputs {
		out[i] = in
	}
	return out
}

func (c *compRun) Output(name string) Output {
	if o, ok := c.outByName[name]; ok {
		return o
	}
	return missingOutput{name: name}
}

func (c *compRun) Outputs() []Output {
	out := make([]Output, len(c.outputs))
	for i, o := range c.outputs {
		out[i] = o
	}
	return out
}

func (c *compRun) Allocator() memory.Allocator     { return c.fr.alloc }
func (c *compRun) BatchRows() int                  { return c.fr.flow.Graph.BatchRows }
func (c *compRun) Memory() Budget                  { return c.fr.budget }
func (c *compRun) Connections() task.Connections   { return c.fr.env.Connections }
func (c *compRun) Dir() string                     { return c.fr.env.Dir }
func (c *compRun) Log() *slog.Logger               { return c.log }
func (c *compRun) SetResult(key string, value any) { c.fr.results.Store(key, value) }

func (c *compRun) Warn(message string) {
	c.log.Warn(message)
	if c.fr.env.Warn != nil {
		c.fr.env.Warn(fmt.Sprintf("%s: %s", c.n.spec.label(), message))
	}
}

// missingOutput is what Output gives for a name the plan has not: every
// Send fails, naming it.
type missingOutput struct{ name string }

func (m missingOutput) Path() string          { return "" }
func (m missingOutput) Schema() *arrow.Schema { return nil }
func (m missingOutput) Send(_ context.Context, b arrow.RecordBatch) error {
	b.Release()
	return fmt.Errorf("no output %q was planned", m.name)
}

// inputImpl is one running input.
type inputImpl struct {
	c      *compRun
	path   string
	schema *arrow.Schema
	link   *link
}

func (in *inputImpl) Path() string          { return in.path }
func (in *inputImpl) Schema() *arrow.Schema { return in.schema }

func (in *inputImpl) Recv(ctx context.Context) (arrow.RecordBatch, error) {
	select {
	case b, ok := <-in.link.ch:
		if !ok {
			return nil, io.EOF
		}
		in.c.rowsIn.Add(b.NumRows())
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// outputImpl is one running output.
type outputImpl struct {
	c    *compRun
	path *pathState
}

func (o *outputImpl) Path() string          { return o.path.name }
func (o *outputImpl) Schema() *arrow.Schema { return o.path.schema }

func (o *outputImpl) Send(ctx context.Context, b arrow.RecordBatch) error {
	if b == nil {
		return nil
	}
	n := b.NumRows()
	if n == 0 {
		b.Release()
		return nil
	}
	if !b.Schema().Equal(o.path.schema) {
		b.Release()
		return fmt.Errorf("sent a batch of schema %s on %s, planned as %s", b.Schema(), o.path.name, o.path.schema)
	}
	if err := ctx.Err(); err != nil {
		b.Release()
		return err
	}
	o.path.rows.Add(n)
	if o.path.tap != nil {
		o.path.tap.keep(b)
	}
	links := o.path.links
	if len(links) == 0 {
		b.Release()
		return nil
	}
	for range len(links) - 1 {
		b.Retain()
	}
	for i, l := range links {
		select {
		case l.ch <- b:
		case <-l.done:
			b.Release() // the consumer has finished: drop its copy
		case <-ctx.Done():
			for range len(links) - i {
				b.Release()
			}
			return ctx.Err()
		}
	}
	return nil
}

// tapState keeps the first rows of a path.
type tapState struct {
	mu      sync.Mutex
	max     int
	columns []string // the path's columns, in its schema's order
	rows    []map[string]any
}

func (t *tapState) keep(b arrow.RecordBatch) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.columns == nil {
		t.columns = []string{}
		for _, f := range b.Schema().Fields() {
			t.columns = append(t.columns, f.Name)
		}
	}
	for i := 0; i < int(b.NumRows()) && len(t.rows) < t.max; i++ {
		row := make(map[string]any, b.NumCols())
		for j, f := range b.Schema().Fields() {
			row[f.Name] = jsonValue(Value(b.Column(j), i))
		}
		t.rows = append(t.rows, row)
	}
}
