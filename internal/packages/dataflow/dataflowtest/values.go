package dataflowtest

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// Values is the `values` source: it sends its rows, in batches of the
// graph's batch_rows.
//
// Settings:
//
//	columns     required  [{name: id, type: int64}, ...]
//	rows        required  a list of rows, each a list of values in column order or an object by column name
//	                      (with one column, the value alone)
//	repeat      sends the rows this many times (default 1; -1: until the flow stops)
//	fail_after  fails the component after sending this many rows
type Values struct{}

// Info implements dataflow.Type.
func (Values) Info() dataflow.Info {
	return dataflow.Info{Doc: "test source: the rows of its settings", MinInputs: 0, MaxInputs: 0}
}

// Plan implements dataflow.Type.
func (Values) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	cols, _, okCols := s.Columns("columns")
	if !s.Has("columns") {
		s.Missing("columns", "[{name: id, type: int64}]")
	}
	raw, okRows := s.List("rows")
	if !s.Has("rows") {
		s.Missing("rows", "[[1], [2]]")
	}
	repeat := s.Int("repeat", 1, -1, 1<<40)
	failAfter := s.Int("fail_after", -1, 0, 1<<40)
	if err := s.Err(); err != nil {
		return nil, err
	}
	if !okCols || !okRows {
		// Not known until the run (${...} while checking).
		p := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName}}}
		if okCols {
			p.Outputs[0].Schema = dataflow.Schema(cols)
		}
		return p, nil
	}
	schema := dataflow.Schema(cols)
	rows := make([][]any, 0, len(raw))
	for i, r := range raw {
		row, err := rowValues(schema, r)
		if err != nil {
			s.Errorf(fmt.Sprintf("rows[%d]", i), "%v", err)
			continue
		}
		rows = append(rows, row)
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	p := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: schema}}}
	if !pc.Checking() {
		p.Runner = &valuesRunner{schema: schema, rows: rows, repeat: repeat, failAfter: int64(failAfter)}
	}
	return p, nil
}

// rowValues reads one row of settings: a list in column order or an
// object by column name; each value must fit its column.
func rowValues(schema *arrow.Schema, r any) ([]any, error) {
	out := make([]any, schema.NumFields())
	switch x := r.(type) {
	case []any:
		if len(x) != len(out) {
			return nil, fmt.Errorf("%d values for %d columns", len(x), len(out))
		}
		copy(out, x)
	case map[string]any:
		for k, v := range x {
			idx := schema.FieldIndices(k)
			if len(idx) == 0 {
				return nil, fmt.Errorf("no column %q", k)
			}
			out[idx[0]] = v
		}
	default:
		if len(out) != 1 {
			return nil, fmt.Errorf("want a list or an object, not %T", r)
		}
		out[0] = r // one column: the value alone

	}
	for j, v := range out {
		b := array.NewBuilder(memory.DefaultAllocator, schema.Field(j).Type)
		err := dataflow.AppendValue(b, v)
		b.Release()
		if err != nil {
			return nil, fmt.Errorf("column %q: %v", schema.Field(j).Name, err)
		}
	}
	return out, nil
}

type valuesRunner struct {
	schema    *arrow.Schema
	rows      [][]any
	repeat    int
	failAfter int64
}

func (v *valuesRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	out := rt.Outputs()[0]
	if len(v.rows) == 0 {
		return nil
	}
	b := array.NewRecordBuilder(rt.Allocator(), v.schema)
	defer b.Release()
	var sent int64
	n := 0
	for rep := 0; v.repeat < 0 || rep < v.repeat; rep++ {
		for _, row := range v.rows {
			if v.failAfter >= 0 && sent >= v.failAfter {
				return errors.New("failing as asked (fail_after)")
			}
			for j, val := range row {
				if err := dataflow.AppendValue(b.Field(j), val); err != nil {
					return err
				}
			}
			sent++
			n++
			if n >= rt.BatchRows() {
				if err := out.Send(ctx, b.NewRecordBatch()); err != nil {
					return err
				}
				n = 0
			}
		}
	}
	if n > 0 {
		return out.Send(ctx, b.NewRecordBatch())
	}
	return ctx.Err()
}
