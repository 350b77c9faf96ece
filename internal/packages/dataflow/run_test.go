package dataflow_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
)

func TestRunValuesToCollect(t *testing.T) {
	t.Parallel()
	res := dataflowtest.MustRun(t, `
batch_rows: 2
tap: {path: src, rows: 2}
components:
  - name: src
    type: values
    settings:
      columns: [{name: id, type: int64}, {name: name, type: string}]
      rows: [[1, a], [2, b], [3, c]]
  - name: sink
    type: collect
    input: src
`)
	got := res.Collected("sink")
	require.Equal(t, [][]any{{int64(1), "a"}, {int64(2), "b"}, {int64(3), "c"}}, got.Rows())
	require.Equal(t, 2, got.Batches())
	require.Equal(t, int64(3), res.Output["rows_read"])
	require.Equal(t, int64(3), res.Output["rows_written"])
	require.Equal(t, map[string]any{"src.out": int64(3)}, res.Output["paths"])
	require.Equal(t, map[string]any{"path": "src.out", "rows": []any{map[string]any{"id": int64(1), "name": "a"}, map[string]any{"id": int64(2), "name": "b"}}}, res.Output["tap"])
	require.Positive(t, res.Output["memory_peak_bytes"])
}
