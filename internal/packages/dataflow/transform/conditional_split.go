package transform

import (
	"context"
	"fmt"
	"regexp"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// ConditionalSplit is the conditional_split transformation: each row goes
// to the output of the first case whose expression is true, or to the
// default output.
//
// Settings:
//
//	cases    required  [{name: big, expression: "amount > 1000"}, ...], tried in order;
//	                   each name is an output (path NAME.big)
//	default  the default output's name (default "default")
//
// A row whose expression fails or gives no bool is rejected (on_error).
type ConditionalSplit struct{}

// Info implements dataflow.Type.
func (ConditionalSplit) Info() dataflow.Info {
	return dataflow.Info{Doc: "routes each row to the first case whose expression holds", MinInputs: 1, MaxInputs: 1}
}

var outputName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

type splitCase struct {
	name string
	expr dataflow.RowExpr
}

// Plan implements dataflow.Type.
func (ConditionalSplit) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	in := pc.Inputs[0].Schema
	objs, ok := s.Objects("cases")
	if !s.Has("cases") {
		s.Missing("cases", `[{name: big, expression: "amount > 1000"}]`)
	} else if ok && len(objs) == 0 {
		s.Errorf("cases", "list at least one case")
	}
	def := "default"
	if d, ok := s.String("default"); ok {
		def = d
	}
	if !outputName.MatchString(def) || def == dataflow.ErrorOutputName {
		s.Errorf("default", "%q: an output name is letters, digits, _ and -, and not %q", def, dataflow.ErrorOutputName)
	}
	names := map[string]bool{def: true}
	var cases []splitCase
	for _, o := range objs {
		name, okName := o.RequiredString("name", "big")
		src, okSrc := o.RequiredString("expression", `"amount > 1000"`)
		if okName {
			switch {
			case !outputName.MatchString(name) || name == dataflow.ErrorOutputName:
				o.Errorf("name", "%q: an output name is letters, digits, _ and -, and not %q", name, dataflow.ErrorOutputName)
				okName = false
			case names[name]:
				o.Errorf("name", "%q names another output already (cases and default are outputs)", name)
				okName = false
			}
			names[name] = true
		}
		if !okName || !okSrc {
			continue
		}
		e, err := pc.CompileRow(src, in)
		if err != nil {
			o.Errorf("expression", "%v", err)
			continue
		}
		if t := e.Type(); t != nil && t.ID() != arrow.BOOL {
			o.Errorf("expression", "%q gives %s, want a bool (true routes the row here)", src, dataflow.TypeName(t))
			continue
		}
		cases = append(cases, splitCase{name: name, expr: e})
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	p := &dataflow.Plan{}
	for _, c := range cases {
		p.Outputs = append(p.Outputs, dataflow.OutputSpec{Name: c.name, Schema: in})
	}
	p.Outputs = append(p.Outputs, dataflow.OutputSpec{Name: def, Schema: in})
	if !pc.Checking() {
		p.Runner = &splitRunner{cases: cases}
	}
	return p, nil
}

type splitRunner struct{ cases []splitCase }

func (r *splitRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	outs := rt.Outputs()
	mem := rt.Allocator()
	return each(ctx, rt.Inputs()[0], func(b arrow.RecordBatch) error {
		defer b.Release()
		n := int(b.NumRows())
		masks := make([][]bool, len(outs))
		counts := make([]int, len(outs))
		for k := range masks {
			masks[k] = make([]bool, n)
		}
	rows:
		for i := range n {
			for k, c := range r.cases {
				v, err := c.expr.Eval(b, i)
				if err == nil && v != nil {
					if _, isBool := v.(bool); !isBool {
						err = fmt.Errorf("expression %q gave %v (%T), want a bool", c.expr.Source(), v, v)
					}
				}
				if err != nil {
					if err := rt.RejectRow(ctx, b, i, fmt.Sprintf("case %q: %v", c.name, err)); err != nil {
						return err
					}
					continue rows
				}
				if v == true {
					masks[k][i] = true
					counts[k]++
					continue rows
				}
			}
			masks[len(outs)-1][i] = true
			counts[len(outs)-1]++
		}
		for k, o := range outs {
			part, err := filter(ctx, mem, b, masks[k], counts[k])
			if err != nil {
				return err
			}
			if part == nil {
				continue
			}
			if err := o.Send(ctx, part); err != nil {
				return err
			}
		}
		return nil
	})
}
