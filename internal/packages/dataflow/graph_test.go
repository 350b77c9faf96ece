package dataflow_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
	"github.com/scaleout/scaleout/internal/packages/dataflow/transform"
	"github.com/scaleout/scaleout/internal/packages/task"
)

const src = `
  - name: src
    type: values
    settings: {columns: [{name: id, type: int64}], rows: [[1]]}
`

func TestGraphValidation(t *testing.T) {
	t.Parallel()
	use := dataflowtest.Use(transform.Register)
	for _, tc := range []struct {
		name, graph string
		want        []string
	}{
		{"no components", `batch_rows: 0`, []string{`batch_rows 0: want a whole number from 1 to 1048576`, `components: required`}},
		{"bad graph settings", `
memory_limit: lots
tap: {rows: 5}
batch_row: 10
components:` + src, []string{`memory_limit "lots": want a size such as "256MiB"`, `tap.path: required`, `batch_row: unknown setting: did you mean "batch_rows"? (known: batch_rows, components, memory_limit, tap)`}},
		{"unknown type", `
components:
  - {name: src, type: valuez}
`, []string{`component "src": unknown component type "valuez"; did you mean "values"?`}},
		{"unknown path and output", `
components:` + src + `
  - {name: sink, type: collect, input: scr}
  - {name: sink2, type: collect, input: src.outt}
  - {name: sink3, type: collect, input: src.error}
`, []string{`component "sink" (collect): input "scr": no component "scr"; did you mean "src"?`,
			`component "sink2" (collect): input "src.outt": component "src" (values) has no output "outt"; did you mean "out"?`,
			`component "sink3" (collect): input "src.error": component "src" (values) has no error output: give it on_error: redirect`}},
		{"input counts", `
components:` + src + `
  - {name: sink, type: collect}
  - {name: src2, type: values, input: src, settings: {columns: [{name: id, type: int64}], rows: []}}
`, []string{`component "sink" (collect): input: required`, `component "src2" (values): input: a source reads no input`}},
		{"cycle", `
components:` + src + `
  - {name: a, type: union_all, inputs: [src, b]}
  - {name: b, type: multicast, input: a}
`, []string{`component "a" (union_all): the paths make a cycle through components "a", "b"`}},
		{"duplicate names and bad settings", `
components:` + src + `
  - {name: src, type: collect, input: src, on_error: explode, extra: 1}
`, []string{`component "src" (collect): name: "src" is the name of components[0] already`, `on_error "explode": want one of fail, ignore, redirect`, `extra: unknown setting`}},
		{"settings problems name the field", `
components:
  - name: src
    type: values
    settings: {columns: [{name: id, type: int64}], rowz: [[1]]}
`, []string{`component "src" (values): settings.rows: required`, `component "src" (values): settings.rowz: unknown setting: did you mean "rows"?`}},
		{"tap", `
tap: {path: srcc}
components:` + src, []string{`tap.path "srcc": no component "srcc"; did you mean "src"?`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := dataflowtest.Check(t, tc.graph, use)
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestGraphProblemsAreAtTheirComponent(t *testing.T) {
	t.Parallel()
	err := dataflowtest.Check(t, `
components:`+src+`
  - {name: sink, type: collect, input: nowhere}
`)
	var fe *task.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, []any{"components", 1}, fe.Path)
}

func TestValidGraphChecksAndPlaceholdersPass(t *testing.T) {
	t.Parallel()
	err := dataflowtest.Check(t, `
batch_rows: "${params.rows}"
memory_limit: 64MiB
components:
  - name: src
    type: values
    settings: {columns: [{name: id, type: int64}], rows: "${params.rows}", repeat: "${params.n}"}
  - name: derive
    type: derived_column
    input: src
    settings: {columns: [{name: x, expression: "id + params.bump", type: int64}]}
  - {name: sink, type: collect, input: derive}
`, dataflowtest.Use(transform.Register))
	require.NoError(t, err)
}

func TestDecodeGraphDefaults(t *testing.T) {
	t.Parallel()
	g, err := dataflow.DecodeGraph(dataflowtest.Graph(t, "memory_limit: 1.5GB\ncomponents: [{name: a, type: values}]"), false)
	require.NoError(t, err)
	require.Equal(t, dataflow.DefaultBatchRows, g.BatchRows)
	require.Equal(t, int64(1_500_000_000), g.MemoryLimit)
	require.Equal(t, dataflow.OnErrorFail, g.Components[0].OnError)
}
