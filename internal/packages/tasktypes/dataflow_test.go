package tasktypes

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
	"github.com/scaleout/scaleout/internal/packages/dataflow/transform"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// dbSource is a source type naming a database connection, for the
// validation of the connections components name.
type dbSource struct{}

func (dbSource) Info() dataflow.Info { return dataflow.Info{Doc: "test"} }
func (dbSource) ConnectionKinds() []connection.Kind {
	return []connection.Kind{connection.Postgres}
}

func (dbSource) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	pc.Settings.RequiredString("connection", "warehouse")
	return &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: "out"}}}, pc.Settings.Err()
}

func dataflowTypesRegistry() *dataflow.Registry {
	return dataflowtest.Registry(transform.Register, func(r *dataflow.Registry) { r.MustRegister("db_source", dbSource{}) })
}

func dataflowTypes() *task.Registry {
	types := task.NewRegistry()
	types.MustRegister("dataflow", Dataflow{Registry: dataflowTypesRegistry()})
	types.MustRegister("sql", SQL{})
	return types
}

const dataflowPackage = `name: p
connections:
  warehouse: {kind: postgres, host: db, database: d, user: u}
  lake: {kind: s3, bucket: b, region: us-east-1}
tasks:
  - name: flow
    type: dataflow
    with:
      components:
        - name: src
          type: values
          settings: {columns: [{name: id, type: int64}], rows: [[1]]}
        - name: derive
          type: derived_column
          input: src
          settings: {columns: [{name: x, expression: "idd * 2"}]}
        - name: db
          type: db_source
          settings: {connection: warehous}
        - name: db2
          type: db_source
          settings: {connection: lake}
        - name: sink
          type: collect
          input: srcc
`

func TestDataflowProblemsHaveTheirComponentsLine(t *testing.T) {
	t.Parallel()
	_, err := pkgfile.Load([]byte(dataflowPackage), "p.yaml", dataflowTypes())
	var verr *pkgfile.ValidationError
	require.ErrorAs(t, err, &verr)
	lines := map[int]string{}
	for _, p := range verr.Problems {
		lines[p.Line] += p.Message
	}
	require.Contains(t, lines[13], `component "derive" (derived_column): settings.columns[0].expression: expression "idd * 2": no column or name "idd"; did you mean "id"?`)
	require.Contains(t, lines[19], `unknown connection "warehous" (known: lake, warehouse); did you mean "warehouse"?`)
	require.Contains(t, lines[22], `connection "lake" is of kind s3; a dataflow task needs one of kind postgres`)
	require.Contains(t, lines[23], `component "sink" (collect): input "srcc": no component "srcc"; did you mean "src"?`)
	require.Len(t, verr.Problems, 4, "%v", err)
	require.Contains(t, err.Error(), `p.yaml:23: tasks[0] "flow".with.components[4] "sink": component "sink" (collect)`)
}

func TestDataflowRun(t *testing.T) {
	t.Parallel()
	var with map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(`
tap: {path: derive, rows: 2}
components:
  - name: src
    type: values
    settings: {columns: [{name: id, type: int64}], rows: [[1], [2], [3]]}
  - name: derive
    type: derived_column
    input: src
    settings: {columns: [{name: x, expression: "id * params.factor + vars.offset", type: int64}]}
  - {name: count, type: row_count, input: derive, settings: {variable: counted}}
`), &with))
	in, log := input(with)
	in.Dir = t.TempDir()
	in.Vars = map[string]any{"offset": 100}
	in.Eval = func(e string) (any, error) {
		if e == "params" {
			return map[string]any{"factor": 3}, nil
		}
		return nil, errors.New("unknown")
	}
	out, err := Dataflow{Registry: dataflowtest.Registry(transform.Register)}.Run(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, int64(3), out["counted"])
	lines := log.Lines()
	require.NotEmpty(t, lines)
	require.Equal(t, "dataflow: count.out=3 derive.out=3 src.out=3; rows_read=3 rows_written=0 rows_rejected=0 memory_peak_bytes="+fmt.Sprint(out["memory_peak_bytes"]), lines[len(lines)-1].line)
	require.Equal(t, int64(3), out["rows_read"])
	require.Equal(t, map[string]any{"path": "derive.out", "columns": []any{"id", "x"}, "rows": []any{
		map[string]any{"id": int64(1), "x": int64(103)}, map[string]any{"id": int64(2), "x": int64(106)},
	}}, out["tap"])
}

func TestDataflowRunBadSettingsArePermanent(t *testing.T) {
	t.Parallel()
	in, _ := input(map[string]any{"components": "none"})
	_, err := Dataflow{}.Run(context.Background(), in)
	require.ErrorContains(t, err, "components")
	require.True(t, errorsIsPermanent(err))
}

func TestDataflowBuiltinComponents(t *testing.T) {
	t.Parallel()
	err := Dataflow{}.Check(map[string]any{"components": list(obj{"name": "a", "type": "derived_colum"})})
	require.ErrorContains(t, err, `did you mean "derived_column"?`)
}
