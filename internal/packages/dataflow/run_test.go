package dataflow_test

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
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
	require.Equal(t, map[string]any{"path": "src.out", "columns": []any{"id", "name"}, "rows": []any{map[string]any{"id": int64(1), "name": "a"}, map[string]any{"id": int64(2), "name": "b"}}}, res.Output["tap"])
	require.Positive(t, res.Output["memory_peak_bytes"])
}

func TestValuesOneColumnRowsAndRejectedSourceRows(t *testing.T) {
	t.Parallel()
	res := dataflowtest.MustRun(t, `
components:
  - name: src
    type: values
    settings: {columns: [{name: id, type: int64}], rows: [1, 2, 3]}
  - {name: sink, type: collect, input: src}
`)
	require.Equal(t, []any{int64(1), int64(2), int64(3)}, res.Collected("sink").Column("id"))
	err := dataflowtest.Check(t, `
components:
  - name: src
    type: values
    settings: {columns: [{name: id, type: int64}], rows: [1, x]}
`)
	require.ErrorContains(t, err, `component "src" (values): settings.rows[1]: column "id": "x" is not an integer`)
}

func TestRowsFromGo(t *testing.T) {
	t.Parallel()
	schema := dataflow.Schema([]dataflow.Column{{Name: "day", Type: arrow.FixedWidthTypes.Date32}, {Name: "n", Type: arrow.PrimitiveTypes.Int32}})
	res := dataflowtest.MustRun(t, `
components:
  - {name: src, type: days}
  - {name: sink, type: collect, input: src}
`, dataflowtest.Rows("days", schema, [][]any{{"2024-01-02", 1}, {nil, int64(2)}}, 2))
	got := res.Collected("sink")
	require.Equal(t, int64(4), got.Count())
	require.Equal(t, []any{int64(1), int64(2), int64(1), int64(2)}, got.Column("n"))
	require.Nil(t, got.Column("day")[1])
}
