package tasktypes_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
	"github.com/scaleout/scaleout/internal/packages/dataflow/transform"
	"github.com/scaleout/scaleout/internal/packages/engine"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
)

// A dataflow in a package: params reach its expressions, its row count
// reaches a variable through outputs, and a later task reads it.
func TestDataflowInAPackage(t *testing.T) {
	t.Parallel()
	const pkg = `name: flow
parameters:
  threshold: {type: int, default: 2}
variables:
  big: {type: int, default: 0}
  said: {type: string, default: ""}
tasks:
  - name: split
    type: dataflow
    outputs: {big: counted}
    with:
      components:
        - name: src
          type: values
          settings: {columns: [{name: n, type: int64}], rows: [1, 2, 3, 4, 5]}
        - name: route
          type: conditional_split
          input: src
          settings: {cases: [{name: big, expression: "n > params.threshold"}]}
        - {name: count, type: row_count, input: route.big, settings: {variable: counted}}
  - name: say
    type: set
    after: [{task: split}]
    with: {values: {said: "'big rows: ' + string(vars.big)"}}
`
	types := task.NewRegistry()
	types.MustRegister("dataflow", tasktypes.Dataflow{Registry: dataflowtest.Registry(transform.Register)})
	types.MustRegister("set", tasktypes.Set{})
	p, err := pkgfile.Load([]byte(pkg), "flow.yaml", types)
	require.NoError(t, err)
	plan, err := engine.Compile(p, types)
	require.NoError(t, err)
	res, err := engine.Run(context.Background(), plan, engine.RunOptions{Params: map[string]any{"threshold": int64(3)}, Dir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, engine.Succeeded, res.Status, "%+v", res)
	require.EqualValues(t, 2, res.Vars["big"])
	require.Equal(t, "big rows: 2", res.Vars["said"])
	require.Equal(t, map[string]any{"src.out": int64(5), "route.big": int64(2), "route.default": int64(3), "count.out": int64(2)}, res.Tasks[0].Outputs["paths"])
}
