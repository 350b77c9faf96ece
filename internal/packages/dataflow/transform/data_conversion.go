package transform

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// DataConversion is the data_conversion transformation: it converts
// columns to other types.
//
// Settings:
//
//	columns  required  [{name: price, type: float64}, {name: day, type: date, as: day_date}, ...]
//	                   name: an input column; type: the type to convert to;
//	                   as: a new column for the converted values (the input column stays),
//	                   else the column is replaced in place
//
// Strings convert to numbers, bools (true/false, 1/0), dates (2006-01-02)
// and timestamps (RFC 3339); numbers to strings and to other numbers
// when the value fits. A row with a value that does not convert is
// rejected (on_error), the reason naming the column and the value.
type DataConversion struct{}

// Info implements dataflow.Type.
func (DataConversion) Info() dataflow.Info {
	return dataflow.Info{Doc: "converts columns to other types", MinInputs: 1, MaxInputs: 1}
}

type conversion struct {
	name string
	src  int // input column
	typ  arrow.DataType
	dst  int // output column
}

// Plan implements dataflow.Type.
func (DataConversion) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	in := pc.Inputs[0].Schema
	objs, ok := s.Objects("columns")
	if !s.Has("columns") {
		s.Missing("columns", "[{name: price, type: float64}]")
	} else if ok && len(objs) == 0 {
		s.Errorf("columns", "list at least one column")
	}
	var fields []arrow.Field
	var names []string
	if in != nil {
		fields = append(fields, in.Fields()...)
		for _, f := range in.Fields() {
			names = append(names, f.Name)
		}
	}
	var convs []conversion
	targets := map[string]bool{}
	for _, o := range objs {
		name, okName := o.RequiredString("name", "price")
		typ, okType := o.Type("type")
		if !o.Has("type") {
			o.Missing("type", "one of "+strings.Join(dataflow.TypeNames(), ", "))
		}
		as, hasAs := o.String("as")
		if !okName || !okType || in == nil {
			continue
		}
		idx := in.FieldIndices(name)
		if len(idx) == 0 {
			o.Errorf("name", "no input column %q%s (columns: %s)", name, suggest(name, names), strings.Join(names, ", "))
			continue
		}
		target := name
		if hasAs && as != "" {
			target = as
		}
		if targets[target] {
			o.Errorf("name", "column %q is converted into twice", target)
			continue
		}
		targets[target] = true
		c := conversion{name: target, src: idx[0], typ: typ, dst: idx[0]}
		f := arrow.Field{Name: target, Type: typ, Nullable: true}
		if target != name {
			if len(in.FieldIndices(target)) > 0 {
				o.Errorf("as", "%q is an input column already: choose a new name or leave as out to convert in place", target)
				continue
			}
			c.dst = len(fields)
			fields = append(fields, f)
		} else {
			fields[c.dst] = f
		}
		convs = append(convs, c)
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	p := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName}}}
	if in == nil {
		return p, nil
	}
	out := arrow.NewSchema(fields, nil)
	p.Outputs[0].Schema = out
	if !pc.Checking() {
		p.Runner = &convertRunner{convs: convs, out: out}
	}
	return p, nil
}

type convertRunner struct {
	convs []conversion
	out   *arrow.Schema
}

func (r *convertRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	out := rt.Outputs()[0]
	mem := rt.Allocator()
	return each(ctx, rt.Inputs()[0], func(b arrow.RecordBatch) error {
		defer b.Release()
		n := int(b.NumRows())
		keep := make([]bool, n)
		for i := range keep {
			keep[i] = true
		}
		reasons := make([]string, n)
		converted := make([]arrow.Array, len(r.convs))
		defer release(converted)
		for j, c := range r.convs {
			col := b.Column(c.src)
			if arrow.TypeEqual(col.DataType(), c.typ) {
				col.Retain()
				converted[j] = col
				continue
			}
			bl := array.NewBuilder(mem, c.typ)
			bl.Reserve(n)
			for i := range n {
				v := dataflow.Value(col, i)
				if err := dataflow.AppendValue(bl, v); err != nil {
					bl.AppendNull()
					if keep[i] {
						keep[i] = false
						reasons[i] = fmt.Sprintf("column %q: %v", b.Schema().Field(c.src).Name, err)
					}
				}
			}
			converted[j] = bl.NewArray()
			bl.Release()
		}
		kept := 0
		for i := range n {
			if keep[i] {
				kept++
				continue
			}
			if err := rt.RejectRow(ctx, b, i, reasons[i]); err != nil {
				return err
			}
		}
		cols := make([]arrow.Array, 0, len(r.out.Fields()))
		for j := range b.NumCols() {
			cols = append(cols, b.Column(int(j)))
		}
		for j, c := range r.convs {
			if c.dst < len(cols) {
				cols[c.dst] = converted[j]
			} else {
				cols = append(cols, converted[j])
			}
		}
		full := array.NewRecordBatch(r.out, cols, int64(n))
		defer full.Release()
		part, err := filter(ctx, mem, full, keep, kept)
		if err != nil || part == nil {
			return err
		}
		return out.Send(ctx, part)
	})
}
