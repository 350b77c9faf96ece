package transform

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// DerivedColumn is the derived_column transformation: it adds columns, or
// replaces them, with the values of per-row expressions.
//
// Settings:
//
//	columns  required  [{name: total, expression: "price * qty", type: float64}, ...]
//	                   name: a new column, or an input column to replace in place
//	                   expression: in the package's expression language over the row's
//	                     columns (row["unit price"] for names that are not plain words),
//	                     params, vars and system
//	                   type: the column's type; when absent, the expression's when it can
//	                     be told, else the replaced column's
//
// A row whose expression fails, or whose value does not fit the type, is
// rejected (on_error) with the column and the reason.
type DerivedColumn struct{}

// Info implements dataflow.Type.
func (DerivedColumn) Info() dataflow.Info {
	return dataflow.Info{Doc: "adds or replaces columns with per-row expressions", MinInputs: 1, MaxInputs: 1}
}

type derived struct {
	name    string
	expr    dataflow.RowExpr
	typ     arrow.DataType
	replace int // the input column replaced, or -1
}

// Plan implements dataflow.Type.
func (DerivedColumn) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	in := pc.Inputs[0].Schema
	objs, ok := s.Objects("columns")
	if !s.Has("columns") {
		s.Missing("columns", `[{name: total, expression: "price * qty"}]`)
	} else if ok && len(objs) == 0 {
		s.Errorf("columns", "list at least one column")
	}
	var cols []derived
	seen := map[string]bool{}
	for _, o := range objs {
		name, okName := o.RequiredString("name", "total")
		src, okSrc := o.RequiredString("expression", `"price * qty"`)
		declared, okType := o.Type("type")
		if okName && seen[name] {
			o.Errorf("name", "%q is derived already in this component", name)
			continue
		}
		seen[name] = true
		if !okName || !okSrc || (o.Has("type") && !okType && !o.Checking()) {
			continue
		}
		e, err := pc.CompileRow(src, in)
		if err != nil {
			o.Errorf("expression", "%v", err)
			continue
		}
		d := derived{name: name, expr: e, typ: declared, replace: -1}
		if in != nil {
			if idx := in.FieldIndices(name); len(idx) > 0 {
				d.replace = idx[0]
			}
			if d.typ == nil {
				d.typ = e.Type()
			}
			if d.typ == nil && d.replace >= 0 {
				d.typ = in.Field(d.replace).Type
			}
			if d.typ == nil {
				o.Errorf("type", "the type of %q cannot be told from the expression: declare it (one of %v)", src, dataflow.TypeNames())
				continue
			}
		}
		cols = append(cols, d)
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if in == nil {
		return &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName}}}, nil
	}
	fields := append([]arrow.Field(nil), in.Fields()...)
	for _, d := range cols {
		f := arrow.Field{Name: d.name, Type: d.typ, Nullable: true}
		if d.replace >= 0 {
			fields[d.replace] = f
		} else {
			fields = append(fields, f)
		}
	}
	out := arrow.NewSchema(fields, nil)
	p := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: out}}}
	if !pc.Checking() {
		p.Runner = &derivedRunner{cols: cols, out: out}
	}
	return p, nil
}

type derivedRunner struct {
	cols []derived
	out  *arrow.Schema
}

func (r *derivedRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	out := rt.Outputs()[0]
	mem := rt.Allocator()
	vals := make([]any, len(r.cols))
	return each(ctx, rt.Inputs()[0], func(b arrow.RecordBatch) error {
		defer b.Release()
		n := int(b.NumRows())
		builders := make([]array.Builder, len(r.cols))
		for j, d := range r.cols {
			builders[j] = array.NewBuilder(mem, d.typ)
			builders[j].Reserve(n)
		}
		defer func() {
			for _, bl := range builders {
				bl.Release()
			}
		}()
		keep := make([]bool, n)
		kept := 0
		for i := range n {
			reason := ""
			for j, d := range r.cols {
				v, err := d.expr.Eval(b, i)
				if err != nil {
					reason = fmt.Sprintf("column %q: %v", d.name, err)
					break
				}
				if err := checkFits(v, d.typ); err != nil {
					reason = fmt.Sprintf("column %q: %v", d.name, err)
					break
				}
				vals[j] = v
			}
			if reason != "" {
				if err := rt.RejectRow(ctx, b, i, reason); err != nil {
					return err
				}
				continue
			}
			for j := range r.cols {
				if err := dataflow.AppendValue(builders[j], vals[j]); err != nil {
					return fmt.Errorf("column %q: %v", r.cols[j].name, err) // checkFits said it fits
				}
			}
			keep[i] = true
			kept++
		}
		base, err := filter(ctx, mem, b, keep, kept)
		if err != nil || base == nil {
			return err
		}
		defer base.Release()
		arrs := make([]arrow.Array, 0, len(r.out.Fields()))
		for j := range base.NumCols() {
			arrs = append(arrs, base.Column(int(j)))
		}
		derivedArrs := make([]arrow.Array, len(r.cols))
		for j, bl := range builders {
			derivedArrs[j] = bl.NewArray()
		}
		defer release(derivedArrs)
		for j, d := range r.cols {
			if d.replace >= 0 {
				arrs[d.replace] = derivedArrs[j]
			} else {
				arrs = append(arrs, derivedArrs[j])
			}
		}
		return out.Send(ctx, array.NewRecordBatch(r.out, arrs, int64(kept)))
	})
}
