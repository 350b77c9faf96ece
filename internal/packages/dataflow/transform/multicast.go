package transform

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// Multicast is the multicast transformation: its one output may feed any
// number of components, each receiving every row. It takes no settings.
type Multicast struct{}

// Info implements dataflow.Type.
func (Multicast) Info() dataflow.Info {
	return dataflow.Info{Doc: "sends every row to every component reading its output", MinInputs: 1, MaxInputs: 1}
}

// Plan implements dataflow.Type.
func (Multicast) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	if err := pc.Settings.Err(); err != nil {
		return nil, err
	}
	p := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: pc.Inputs[0].Schema, Shared: true}}}
	if !pc.Checking() {
		p.Runner = passThrough{}
	}
	return p, nil
}

// passThrough sends every batch on as it is.
type passThrough struct{}

func (passThrough) Run(ctx context.Context, rt dataflow.Runtime) error {
	out := rt.Outputs()[0]
	return each(ctx, rt.Inputs()[0], func(b arrow.RecordBatch) error { return out.Send(ctx, b) })
}
