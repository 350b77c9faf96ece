package dataflowtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// Collected is what one `collect` component received.
type Collected struct {
	mu      sync.Mutex
	schema  *arrow.Schema
	rows    [][]any
	count   int64
	batches int
}

// Schema is the input's schema.
func (c *Collected) Schema() *arrow.Schema {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.schema
}

// Rows are the rows received (with keep: true), values as dataflow.Value
// gives them.
func (c *Collected) Rows() [][]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rows
}

// Count is the rows received; Batches the batches.
func (c *Collected) Count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// Batches is how many batches were received.
func (c *Collected) Batches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.batches
}

// Column is one column's values, by name.
func (c *Collected) Column(name string) []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.schema == nil {
		return nil
	}
	idx := c.schema.FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	out := make([]any, len(c.rows))
	for i, r := range c.rows {
		out[i] = r[idx[0]]
	}
	return out
}

// Maps are the rows as column name -> value.
func (c *Collected) Maps() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]map[string]any, len(c.rows))
	for i, r := range c.rows {
		m := map[string]any{}
		for j, f := range c.schema.Fields() {
			m[f.Name] = r[j]
		}
		out[i] = m
	}
	return out
}

// Collect is the `collect` destination; what it receives goes to a
// store (one per Run) under the component's name.
//
// Settings:
//
//	keep        keeps the rows (default true; false only counts them)
//	delay       waits this long after each batch (e.g. "5ms"): a slow consumer
//	stop_after  returns, done, after this many rows (leaving the rest unread)
//	fail_after  fails after this many rows
type Collect struct {
	store *store
}

type store struct {
	mu sync.Mutex
	m  map[string]*Collected
}

func (s *store) get(name string) *Collected {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.m[name]
	if c == nil {
		c = &Collected{}
		s.m[name] = c
	}
	return c
}

// Info implements dataflow.Type.
func (Collect) Info() dataflow.Info {
	return dataflow.Info{Doc: "test destination: keeps the rows it receives", MinInputs: 1, MaxInputs: 1}
}

// Plan implements dataflow.Type.
func (c Collect) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	r := &collectRunner{
		keep:      s.Bool("keep", true),
		stopAfter: int64(s.Int("stop_after", -1, 0, 1<<40)),
		failAfter: int64(s.Int("fail_after", -1, 0, 1<<40)),
	}
	if d, ok := s.String("delay"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil || dur < 0 {
			s.Errorf("delay", "%q: want a duration such as \"5ms\"", d)
		}
		r.delay = dur
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	p := &dataflow.Plan{}
	if !pc.Checking() {
		if c.store == nil {
			return nil, errors.New("collect works only inside dataflowtest.Run")
		}
		r.out = c.store.get(pc.Name)
		p.Runner = r
	}
	return p, nil
}

type collectRunner struct {
	out                  *Collected
	keep                 bool
	delay                time.Duration
	stopAfter, failAfter int64
}

func (r *collectRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	in := rt.Inputs()[0]
	r.out.mu.Lock()
	r.out.schema = in.Schema()
	r.out.mu.Unlock()
	for {
		b, err := in.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		r.out.mu.Lock()
		r.out.batches++
		for i := range int(b.NumRows()) {
			if r.keep {
				row := make([]any, b.NumCols())
				for j := range row {
					row[j] = dataflow.Value(b.Column(j), i)
				}
				r.out.rows = append(r.out.rows, row)
			}
			r.out.count++
		}
		count := r.out.count
		r.out.mu.Unlock()
		b.Release()
		if r.failAfter >= 0 && count >= r.failAfter {
			return fmt.Errorf("failing as asked after %d rows (fail_after)", count)
		}
		if r.stopAfter >= 0 && count >= r.stopAfter {
			return nil
		}
		if r.delay > 0 {
			select {
			case <-time.After(r.delay):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}
