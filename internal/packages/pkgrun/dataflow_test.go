package pkgrun_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/packages/pkgrun"
	"github.com/scaleout/scaleout/internal/packages/scratch"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
)

// flowDefinition writes a CSV file with an exec task, then reads it in a
// dataflow that splits the rows and taps a derived column made of the
// sensitive parameters.
const flowDefinition = `
name: flow
parameters:
  secret: {type: string, sensitive: true, default: hunter2}
  pin: {type: int, sensitive: true, default: 4321}
tasks:
  - name: write
    type: exec
    with: {command: [sh, -c, "printf 'id,name\n1,a\n2,b\n3,c\n4321,d\n' > in.csv"]}
  - name: flow
    type: dataflow
    after: [{task: write}]
    with:
      tap: {path: derive, rows: 10}
      components:
        - name: read
          type: csv_source
          settings: {file: in.csv, columns: [{name: id, type: int64}, {name: name, type: string}]}
        - name: derive
          type: derived_column
          input: read
          settings: {columns: [{name: note, expression: "name + '-' + params.secret", type: string}]}
        - name: split
          type: conditional_split
          input: derive
          settings: {cases: [{name: small, expression: "id < 3"}], default: rest}
        - {name: small, type: csv_destination, input: split.small, settings: {file: small.csv}}
        - {name: rest, type: csv_destination, input: split.rest, settings: {file: rest.csv}}
`

// A dataflow task's summary carries its rows per path, its totals and its
// tap, with the sensitive values redacted (a number too); other tasks'
// summaries carry none.
func TestRunKeepsDataFlowStatistics(t *testing.T) {
	t.Parallel()
	prep, err := pkgrun.Prepare(tasktypes.NewRegistry(), []byte(flowDefinition), nil)
	require.NoError(t, err)
	r := pkgrun.Runner{Types: tasktypes.NewRegistry(), Messages: messages.NewMemory(), Scratch: scratch.Options{Root: t.TempDir()}}
	res := r.Run(t.Context(), execution.Execution{ID: uuid.Must(uuid.NewV7()).String(), Attempt: 1, Package: "flow", Definition: prep.Definition})
	require.Equal(t, execution.Succeeded, res.Status, res.Error)
	require.Len(t, res.Tasks, 2)
	require.Nil(t, res.Tasks[0].DataFlow, "an exec task has no data flow")
	d := res.Tasks[1].DataFlow
	require.NotNil(t, d)
	require.Equal(t, []execution.PathRows{
		{Path: "derive.out", Rows: 4}, {Path: "read.out", Rows: 4}, {Path: "split.rest", Rows: 2}, {Path: "split.small", Rows: 2},
	}, d.Paths)
	require.Equal(t, int64(4), d.RowsRead)
	require.Equal(t, int64(4), d.RowsWritten)
	require.Zero(t, d.RowsRejected)
	require.Positive(t, d.MemoryPeakBytes)
	require.False(t, d.Truncated)
	require.NotNil(t, d.Tap)
	require.Equal(t, "derive.out", d.Tap.Path)
	require.Equal(t, []string{"id", "name", "note"}, d.Tap.Columns)
	var rows []string
	for _, r := range d.Tap.Rows {
		rows = append(rows, string(r))
	}
	require.Equal(t, []string{`[1,"a","a-***"]`, `[2,"b","b-***"]`, `[3,"c","c-***"]`, `["***","d","d-***"]`}, rows)
	b, err := json.Marshal(res.Tasks)
	require.NoError(t, err)
	require.NotContains(t, string(b), "hunter2")
	require.NotContains(t, string(b), "4321")
}

// A tap longer than the kept rows, with long texts, is cut and says so.
func TestRunCutsALongTap(t *testing.T) {
	t.Parallel()
	def := strings.NewReplacer("tap: {path: derive, rows: 10}", "tap: {path: derive, rows: 1000}",
		`printf 'id,name\n1,a\n2,b\n3,c\n4321,d\n' > in.csv`, `seq 1 300 | sed 's/$/,`+strings.Repeat("x", 300)+`/' > in.csv`,
		"columns: [{name: id", "header: false, columns: [{name: id").Replace(flowDefinition)
	prep, err := pkgrun.Prepare(tasktypes.NewRegistry(), []byte(def), nil)
	require.NoError(t, err)
	r := pkgrun.Runner{Types: tasktypes.NewRegistry(), Messages: messages.NewMemory(), Scratch: scratch.Options{Root: t.TempDir()}}
	res := r.Run(t.Context(), execution.Execution{ID: uuid.Must(uuid.NewV7()).String(), Attempt: 1, Package: "flow", Definition: prep.Definition})
	require.Equal(t, execution.Succeeded, res.Status, res.Error)
	d := res.Tasks[1].DataFlow
	require.Equal(t, int64(300), d.RowsRead)
	require.True(t, d.Tap.Truncated)
	require.Len(t, d.Tap.Rows, execution.MaxTapRows)
	var row []any
	require.NoError(t, json.Unmarshal(d.Tap.Rows[0], &row))
	require.LessOrEqual(t, len(row[1].(string)), execution.MaxTapValueBytes, "long texts are cut")

	fit := res.Fit().Tasks[1].DataFlow
	b, _ := json.Marshal(fit)
	require.LessOrEqual(t, len(b), execution.MaxDataFlowBytes)
	require.Less(t, len(fit.Tap.Rows), execution.MaxTapRows, "cut to MaxTapBytes")
	require.Len(t, fit.Paths, 4, "the paths stay")
}

// A dataflow task that fails keeps the statistics of what it did, and
// the summary of a task that never ran has none.
func TestRunKeepsAFailedDataFlowsStatistics(t *testing.T) {
	t.Parallel()
	def := strings.NewReplacer(`printf 'id,name\n1,a\n2,b\n3,c\n4321,d\n' > in.csv`, `printf 'id,name\n1,a\nx,b\n' > in.csv`).Replace(flowDefinition) + `
  - name: after
    type: exec
    after: [{task: flow}]
    with: {command: ["true"]}
`
	prep, err := pkgrun.Prepare(tasktypes.NewRegistry(), []byte(def), nil)
	require.NoError(t, err)
	r := pkgrun.Runner{Types: tasktypes.NewRegistry(), Messages: messages.NewMemory(), Scratch: scratch.Options{Root: t.TempDir()}}
	res := r.Run(t.Context(), execution.Execution{ID: uuid.Must(uuid.NewV7()).String(), Attempt: 1, Package: "flow", Definition: prep.Definition})
	require.Equal(t, execution.Failed, res.Status)
	require.Len(t, res.Tasks, 3)
	require.Equal(t, "failed", res.Tasks[1].Status)
	require.Contains(t, res.Tasks[1].Error, `"x"`)
	d := res.Tasks[1].DataFlow
	require.NotNil(t, d, "what the failed flow did")
	require.Len(t, d.Paths, 4)
	require.Equal(t, "skipped", res.Tasks[2].Status)
	require.Nil(t, res.Tasks[2].DataFlow)
}
