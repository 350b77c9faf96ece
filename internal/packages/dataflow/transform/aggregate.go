package transform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// Aggregate is the aggregate component type: it groups its input's rows
// by columns and computes aggregations per group, as SSIS's Aggregate
// transformation (or SQL's GROUP BY).
//
//	components:
//	  - name: totals
//	    type: aggregate
//	    input: read
//	    settings:
//	      group_by: [region, product]    # none: one row for the whole input
//	      aggregations:
//	        - {function: count, as: orders}                 # count(*)
//	        - {function: count, column: coupon}             # rows where coupon is not null
//	        - {function: count_distinct, column: customer, as: customers}
//	        - {function: sum, column: amount, as: total}
//	        - {function: avg, column: amount}               # named avg_amount
//	        - {function: min, column: day}
//	        - {function: max, column: day, as: last_day}
//
// Its one output, "out", has the group_by columns (their input types)
// then one column per aggregation, named by `as` (default: count for
// count(*), else FUNCTION_COLUMN): count, count(column) and
// count_distinct are int64; sum is int64 over integer columns and float64
// over float columns (an int64 overflow fails the component); avg is
// float64; min and max have the column's type. As in SQL, nulls are left
// out of every aggregation but count(*), an aggregation over no value is
// null, and a null group_by value makes a group of its own. Groups leave
// in the order their first row arrived, once the whole input has.
//
// What it holds: one entry per group (its key values and one small state
// per aggregation), plus every distinct value of a count_distinct column
// per group, with their estimated bytes reserved from the flow's budget
// (memory_limit). It does not spill: past the limit it fails with an
// error naming the limit and the groups held so far.
type Aggregate struct{}

// aggFunctions are the aggregation functions.
var aggFunctions = []string{"count", "count_distinct", "sum", "avg", "min", "max"}

// aggSpec is one planned aggregation.
type aggSpec struct {
	function string
	col      int // input column; -1 for count(*)
	name     string
	typ      arrow.DataType // output type
	intSum   bool           // sum over an integer column
}

// Info describes aggregate.
func (Aggregate) Info() dataflow.Info {
	return dataflow.Info{Doc: "groups rows by columns with count, count_distinct, sum, avg, min and max per group", MinInputs: 1, MaxInputs: 1}
}

// Plan reads the grouping and the aggregations and types them from the
// input.
func (Aggregate) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	var in *arrow.Schema
	if len(pc.Inputs) > 0 {
		in = pc.Inputs[0].Schema
	}
	groupBy, _ := s.Strings("group_by")
	objs, ok := s.Objects("aggregations")
	if !s.Has("aggregations") {
		s.Missing("aggregations", "e.g. [{function: count, as: rows}, {function: sum, column: amount, as: total}]")
	} else if ok && len(objs) == 0 {
		s.Errorf("aggregations", "list at least one aggregation, e.g. [{function: count}]")
	}
	var fields []arrow.Field
	var groupCols []int
	names := map[string]string{} // output name -> what made it
	for i, g := range groupBy {
		if prev, dup := names[g]; dup {
			s.Errorf("group_by", "column %q is listed twice (as %s)", g, prev)
			continue
		}
		names[g] = fmt.Sprintf("group_by[%d]", i)
		if in == nil {
			continue
		}
		col := findColumn(s, "group_by", in, g, "the input")
		if col < 0 {
			continue
		}
		groupCols = append(groupCols, col)
		fields = append(fields, arrow.Field{Name: g, Type: in.Field(col).Type, Nullable: true})
	}
	var specs []aggSpec
	for i, o := range objs {
		spec, ok := planAggregation(o, in)
		name := spec.name
		if prev, dup := names[name]; ok && dup {
			o.Errorf("as", "output column %q is made by %s already: give this one another name with `as`", name, prev)
			continue
		}
		names[name] = fmt.Sprintf("aggregations[%d]", i)
		if ok && in != nil {
			specs = append(specs, spec)
			fields = append(fields, arrow.Field{Name: name, Type: spec.typ, Nullable: true})
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	var out *arrow.Schema
	if in != nil {
		out = arrow.NewSchema(fields, nil)
	}
	plan := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: out}}}
	if !pc.Checking() {
		plan.Runner = &aggregateRunner{groupCols: groupCols, specs: specs, schema: out}
	}
	return plan, nil
}

// planAggregation reads one aggregation; in is nil when not known yet.
func planAggregation(o *dataflow.Settings, in *arrow.Schema) (aggSpec, bool) {
	spec := aggSpec{col: -1}
	fn, okFn := o.RequiredString("function", "sum")
	fn = strings.ToLower(strings.TrimSpace(fn))
	if okFn && !slices.Contains(aggFunctions, fn) {
		o.Errorf("function", "unknown aggregation %q (known: %s)%s", fn, strings.Join(aggFunctions, ", "), didYouMean(fn, aggFunctions))
		okFn = false
	}
	spec.function = fn
	column, hasCol := o.String("column")
	as, hasAs := o.String("as")
	switch {
	case hasAs && strings.TrimSpace(as) != "":
		spec.name = as
	case fn == "count" && !hasCol:
		spec.name = "count"
	default:
		spec.name = fn + "_" + column
	}
	if !okFn {
		return spec, false
	}
	if !hasCol {
		if fn != "count" && !o.Has("column") {
			o.Missing("column", fmt.Sprintf("the column %s is computed over", fn))
		}
		spec.typ = arrow.PrimitiveTypes.Int64
		return spec, fn == "count"
	}
	if in == nil {
		return spec, true
	}
	spec.col = findColumn(o, "column", in, column, "the input")
	if spec.col < 0 {
		return spec, false
	}
	t := in.Field(spec.col).Type
	kind := keyKind(t)
	switch fn {
	case "count", "count_distinct":
		spec.typ = arrow.PrimitiveTypes.Int64
	case "sum", "avg":
		if kind != "integer" && kind != "float" {
			o.Errorf("column", "%s needs a number column, and %q is %s", fn, column, dataflow.TypeName(t))
			return spec, false
		}
		spec.typ = arrow.PrimitiveTypes.Float64
		if fn == "sum" && kind == "integer" {
			spec.typ, spec.intSum = arrow.PrimitiveTypes.Int64, true
		}
	case "min", "max":
		if _, ok := compareFor(t); !ok {
			o.Errorf("column", "%s needs a column that can be ordered, and %q is %s", fn, column, dataflow.TypeName(t))
			return spec, false
		}
		spec.typ = t
	}
	return spec, true
}

// aggregateRunner is one planned aggregate.
type aggregateRunner struct {
	groupCols []int
	specs     []aggSpec
	schema    *arrow.Schema
}

// group is one group's key values and aggregation states.
type group struct {
	key    []any
	states []aggState
}

// Run reads the whole input into groups, then sends one row per group.
func (r *aggregateRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	held := &holding{budget: rt.Memory(), what: "the groups"}
	defer held.release()
	groups := map[string]*group{}
	var order []*group
	var key []byte
	in := rt.Inputs()[0]
	detail := func() string { return fmt.Sprintf("%d groups", len(order)) }
	for {
		batch, err := in.Recv(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		err = r.add(batch, groups, &order, &key, held, detail)
		batch.Release()
		if err != nil {
			return err
		}
	}
	rt.Log().Info("aggregate grouped its input", "groups", len(order), "bytes_held", held.used, "memory_limit", rt.Memory().Limit())
	if len(r.groupCols) == 0 && len(order) == 0 {
		order = append(order, r.newGroup(nil, 0))
	}
	return r.emit(ctx, rt, order)
}

// add folds one batch into the groups.
func (r *aggregateRunner) add(batch arrow.RecordBatch, groups map[string]*group, order *[]*group, key *[]byte, held *holding, detail func() string) error {
	for i := range int(batch.NumRows()) {
		k := (*key)[:0]
		for _, c := range r.groupCols {
			k = appendKey(k, batch.Column(c), i)
		}
		*key = k
		g, ok := groups[string(k)]
		if !ok {
			g = r.newGroup(batch, i)
			groups[string(k)] = g
			*order = append(*order, g)
			size := int64(len(k)) + 96 + 48*int64(len(r.specs))
			for _, c := range r.groupCols {
				size += valueBytes(batch.Column(c), i) + 16
			}
			if err := held.grow(size, detail); err != nil {
				return err
			}
		}
		for a, st := range g.states {
			spec := r.specs[a]
			var arr arrow.Array
			if spec.col >= 0 {
				arr = batch.Column(spec.col)
			}
			grew, err := st.add(arr, i)
			if err != nil {
				return fmt.Errorf("%s of column %q: %w", spec.function, r.specColumn(batch, spec), err)
			}
			if grew > 0 {
				if err := held.grow(grew, detail); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r *aggregateRunner) specColumn(batch arrow.RecordBatch, spec aggSpec) string {
	if spec.col < 0 {
		return "*"
	}
	return batch.Schema().Field(spec.col).Name
}

// newGroup makes the group of row i of batch (none for the whole input).
func (r *aggregateRunner) newGroup(batch arrow.RecordBatch, i int) *group {
	g := &group{key: make([]any, len(r.groupCols)), states: make([]aggState, len(r.specs))}
	for n, c := range r.groupCols {
		g.key[n] = dataflow.Value(batch.Column(c), i)
	}
	for n, spec := range r.specs {
		g.states[n] = newAggState(spec)
	}
	return g
}

// emit sends one row per group in BatchRows batches.
func (r *aggregateRunner) emit(ctx context.Context, rt dataflow.Runtime, order []*group) error {
	b := array.NewRecordBuilder(rt.Allocator(), r.schema)
	defer b.Release()
	out := rt.Output(dataflow.DefaultOutputName)
	rows, limit := 0, max(rt.BatchRows(), 1)
	for _, g := range order {
		for n, v := range g.key {
			if err := dataflow.AppendValue(b.Field(n), v); err != nil {
				return fmt.Errorf("writing group_by column %q: %w", r.schema.Field(n).Name, err)
			}
		}
		for n, st := range g.states {
			f := len(g.key) + n
			if err := dataflow.AppendValue(b.Field(f), st.result()); err != nil {
				return fmt.Errorf("writing column %q: %w", r.schema.Field(f).Name, err)
			}
		}
		rows++
		if rows >= limit {
			if err := out.Send(ctx, b.NewRecordBatch()); err != nil {
				return err
			}
			rows = 0
		}
	}
	if rows > 0 {
		return out.Send(ctx, b.NewRecordBatch())
	}
	return nil
}
