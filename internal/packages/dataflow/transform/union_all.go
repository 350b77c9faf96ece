package transform

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"golang.org/x/sync/errgroup"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// UnionAll is the union_all transformation: the rows of all its inputs
// (`inputs: [a, b.out]`) on one output. Columns are matched by name, in
// the order they first appear; a column an input lacks is null in its
// rows; a column in several inputs must have one type. It takes no
// settings. Inputs are read at once, so rows of different inputs
// interleave.
type UnionAll struct{}

// Info implements dataflow.Type.
func (UnionAll) Info() dataflow.Info {
	return dataflow.Info{Doc: "merges the rows of several inputs, columns matched by name", MinInputs: 1, MaxInputs: -1}
}

// Plan implements dataflow.Type.
func (UnionAll) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	var fields []arrow.Field
	index := map[string]int{}
	from := map[string]string{}
	known := true
	for _, in := range pc.Inputs {
		if in.Schema == nil {
			known = false
			continue
		}
		for _, f := range in.Schema.Fields() {
			k, seen := index[f.Name]
			if !seen {
				index[f.Name] = len(fields)
				from[f.Name] = in.Path
				fields = append(fields, arrow.Field{Name: f.Name, Type: f.Type, Nullable: true})
				continue
			}
			if !arrow.TypeEqual(fields[k].Type, f.Type) {
				s.Errorf("", "column %q is %s in %s but %s in %s: convert one (data_conversion) so the types agree", f.Name, dataflow.TypeName(fields[k].Type), from[f.Name], dataflow.TypeName(f.Type), in.Path)
			}
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	p := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName}}}
	if !known {
		return p, nil
	}
	out := arrow.NewSchema(fields, nil)
	p.Outputs[0].Schema = out
	if !pc.Checking() {
		maps := make([][]int, len(pc.Inputs))
		for i, in := range pc.Inputs {
			maps[i] = make([]int, len(fields))
			for k, f := range fields {
				maps[i][k] = -1
				if idx := in.Schema.FieldIndices(f.Name); len(idx) > 0 {
					maps[i][k] = idx[0]
				}
			}
		}
		p.Runner = &unionRunner{out: out, maps: maps}
	}
	return p, nil
}

type unionRunner struct {
	out  *arrow.Schema
	maps [][]int // per input: output column -> input column or -1
}

func (r *unionRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	out := rt.Outputs()[0]
	mem := rt.Allocator()
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for i, in := range rt.Inputs() {
		m := r.maps[i]
		g.Go(func() error {
			err := each(gctx, in, func(b arrow.RecordBatch) error {
				defer b.Release()
				cols := make([]arrow.Array, len(m))
				var nulls []arrow.Array
				for k, j := range m {
					if j >= 0 {
						cols[k] = b.Column(j)
						continue
					}
					a := array.MakeArrayOfNull(mem, r.out.Field(k).Type, int(b.NumRows()))
					nulls = append(nulls, a)
					cols[k] = a
				}
				nb := array.NewRecordBatch(r.out, cols, b.NumRows())
				release(nulls)
				mu.Lock()
				defer mu.Unlock()
				return out.Send(gctx, nb)
			})
			if err != nil {
				return fmt.Errorf("input %s: %w", in.Path(), err)
			}
			return nil
		})
	}
	return g.Wait()
}
