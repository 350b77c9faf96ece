package transform_test

import (
	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
)

func dataflowEnv(params map[string]any) dataflow.Env { return dataflow.Env{Params: params} }

func fieldNames(c *dataflowtest.Collected) []string {
	var out []string
	for _, f := range c.Schema().Fields() {
		out = append(out, f.Name)
	}
	return out
}
