package transform

import (
	"context"
	"regexp"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// RowCount is the row_count transformation: it passes its rows on
// unchanged and counts them into a result of the task's output, which
// the task's `outputs` maps into a package variable (outputs: {rows:
// counted} sets variable rows).
//
// Settings:
//
//	variable  required  the result's name, e.g. counted
type RowCount struct{}

// Info implements dataflow.Type.
func (RowCount) Info() dataflow.Info {
	return dataflow.Info{Doc: "counts the rows passing through into a result", MinInputs: 1, MaxInputs: 1}
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Plan implements dataflow.Type.
func (RowCount) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	name, ok := s.RequiredString("variable", "counted")
	if ok && !identifier.MatchString(name) {
		s.Errorf("variable", "%q: use letters, digits and _, not starting with a digit", name)
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	p := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: pc.Inputs[0].Schema}}}
	if ok {
		p.Results = []string{name}
	}
	if !pc.Checking() {
		p.Runner = &rowCounter{name: name}
	}
	return p, nil
}

type rowCounter struct{ name string }

func (r *rowCounter) Run(ctx context.Context, rt dataflow.Runtime) error {
	out := rt.Outputs()[0]
	var n int64
	err := each(ctx, rt.Inputs()[0], func(b arrow.RecordBatch) error {
		n += b.NumRows()
		return out.Send(ctx, b)
	})
	rt.SetResult(r.name, n)
	return err
}
