package dataflowtest

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// Rows registers a source type named typeName that sends rows (values in
// schema's column order, as dataflow.AppendValue takes them) repeat
// times (-1: until the flow stops): the values source given from Go, for
// schemas and row counts awkward to write in settings. It takes no
// settings.
func Rows(typeName string, schema *arrow.Schema, rows [][]any, repeat int) Option {
	return Use(func(r *dataflow.Registry) {
		r.MustRegister(typeName, goRows{schema: schema, rows: rows, repeat: repeat})
	})
}

type goRows struct {
	schema *arrow.Schema
	rows   [][]any
	repeat int
}

func (goRows) Info() dataflow.Info { return dataflow.Info{Doc: "test source: rows given from Go"} }

func (g goRows) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	if err := pc.Settings.Err(); err != nil {
		return nil, err
	}
	p := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: g.schema}}}
	if !pc.Checking() {
		p.Runner = &valuesRunner{schema: g.schema, rows: g.rows, repeat: g.repeat, failAfter: -1}
	}
	return p, nil
}
