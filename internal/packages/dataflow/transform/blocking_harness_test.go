package transform

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// This file is the blocking transformations' test bench: a source whose
// rows Go code makes (so inputs far larger than memory_limit stream in
// without being held), a destination that keeps what reaches it as Go
// values, and a run of a graph on the real runtime with a checked
// allocator that fails the test on a leaked batch.

// rowFunc makes row i of a generated input; ok false ends it.
type rowFunc func(i int) (row []any, ok bool)

// genSource sends the rows of gen in BatchRows batches.
type genSource struct {
	schema *arrow.Schema
	gen    rowFunc
	// sent, when set, is called after each batch with the rows sent so far.
	sent func(rows int)
}

func (g genSource) Info() dataflow.Info { return dataflow.Info{Doc: "rows made by a test"} }

func (g genSource) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	plan := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: g.schema}}}
	if !pc.Checking() {
		plan.Runner = runnerFunc(g.run)
	}
	return plan, pc.Settings.Err()
}

func (g genSource) run(ctx context.Context, rt dataflow.Runtime) error {
	out := rt.Output(dataflow.DefaultOutputName)
	b := array.NewRecordBuilder(rt.Allocator(), g.schema)
	defer b.Release()
	n, inBatch := 0, 0
	flush := func() error {
		if inBatch == 0 {
			return nil
		}
		inBatch = 0
		if err := out.Send(ctx, b.NewRecordBatch()); err != nil {
			return err
		}
		if g.sent != nil {
			g.sent(n)
		}
		return nil
	}
	for {
		row, ok := g.gen(n)
		if !ok {
			return flush()
		}
		for c, v := range row {
			if err := dataflow.AppendValue(b.Field(c), v); err != nil {
				return err
			}
		}
		n++
		inBatch++
		if inBatch >= rt.BatchRows() {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

type runnerFunc func(ctx context.Context, rt dataflow.Runtime) error

func (f runnerFunc) Run(ctx context.Context, rt dataflow.Runtime) error { return f(ctx, rt) }

// collected is what collect destinations received, by component name.
type collected struct {
	mu      sync.Mutex
	rows    map[string][][]any
	schemas map[string]*arrow.Schema
}

func (c *collected) get(name string) [][]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rows[name]
}

// collectDest keeps every row it receives as Go values.
type collectDest struct{ into *collected }

func (d collectDest) Info() dataflow.Info {
	return dataflow.Info{Doc: "keeps rows for a test", MinInputs: 1, MaxInputs: 1}
}

func (d collectDest) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	plan := &dataflow.Plan{}
	if !pc.Checking() {
		plan.Runner = runnerFunc(d.run)
	}
	return plan, pc.Settings.Err()
}

func (d collectDest) run(ctx context.Context, rt dataflow.Runtime) error {
	in := rt.Inputs()[0]
	d.into.mu.Lock()
	d.into.schemas[rt.Component()] = in.Schema()
	d.into.mu.Unlock()
	for {
		batch, err := in.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rows := make([][]any, batch.NumRows())
		for i := range rows {
			rows[i] = make([]any, batch.NumCols())
			for c := range rows[i] {
				rows[i][c] = dataflow.Value(batch.Column(c), i)
			}
		}
		batch.Release()
		d.into.mu.Lock()
		d.into.rows[rt.Component()] = append(d.into.rows[rt.Component()], rows...)
		d.into.mu.Unlock()
	}
}

// bench is one flow to run: sources by name, then the graph.
type bench struct {
	t       testing.TB
	reg     *dataflow.Registry
	out     *collected
	dir     string
	conns   task.Connections
	log     bytes.Buffer
	logMu   sync.Mutex
	warned  []string
	timeout time.Duration
}

func newBench(t testing.TB) *bench {
	reg := dataflow.NewRegistry()
	RegisterBlocking(reg)
	out := &collected{rows: map[string][][]any{}, schemas: map[string]*arrow.Schema{}}
	reg.MustRegister("collect", collectDest{into: out})
	return &bench{t: t, reg: reg, out: out, dir: t.TempDir(), timeout: time.Minute}
}

// source registers a generated source type under name.
func (b *bench) source(name string, g genSource) { b.reg.MustRegister(name, g) }

// run runs the graph whose `with` is with, with a checked allocator:
// every batch must be released by the end.
func (b *bench) run(ctx context.Context, with map[string]any) (task.Output, error) {
	b.t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(b.t, 0)
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	env := dataflow.Env{
		Dir: b.dir, Connections: b.conns, Allocator: mem,
		Log: slog.New(slog.NewTextHandler(&lockedWriter{mu: &b.logMu, w: &b.log}, nil)),
		Warn: func(m string) {
			b.logMu.Lock()
			b.warned = append(b.warned, m)
			b.logMu.Unlock()
		},
	}
	return dataflow.Run(ctx, b.reg, with, env)
}

func (b *bench) logText() string {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	return b.log.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// comp is one component of a graph.
func comp(name, typ, input string, settings map[string]any) map[string]any {
	c := map[string]any{"name": name, "type": typ}
	if input != "" {
		c["input"] = input
	}
	if settings != nil {
		c["settings"] = settings
	}
	return c
}

// graph is a `with` of components.
func graph(batchRows int, memoryLimit any, comps ...map[string]any) map[string]any {
	l := make([]any, len(comps))
	for i, c := range comps {
		l[i] = c
	}
	w := map[string]any{"components": l, "batch_rows": batchRows}
	if memoryLimit != nil {
		w["memory_limit"] = memoryLimit
	}
	return w
}
