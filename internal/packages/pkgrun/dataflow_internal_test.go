package pkgrun

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

func TestDataFlowStatsFromOutput(t *testing.T) {
	t.Parallel()
	red := pkgfile.NewRedactor([]string{"s3cret", "77"})
	require.Nil(t, dataFlowStats(nil, red), "a task that did not run")
	require.Nil(t, dataFlowStats(map[string]any{"rows_read": int64(3)}, red), "no paths")

	d := dataFlowStats(map[string]any{
		"paths":     map[string]any{"b.out": int64(2), "a.out": 3.0},
		"rows_read": int64(3), "rows_written": 2, "rows_rejected": json.Number("1"), "memory_peak_bytes": "not a number",
		// An output without columns (an older worker's): the rows' keys, by name.
		"tap": map[string]any{"path": "a.out", "rows": []any{
			map[string]any{"n": int64(77), "s": "the s3cret word", "f": math.NaN(), "b": true},
			map[string]any{"n": nil, "s": strings.Repeat("é", 300), "f": 1.5, "x": []any{1}},
		}},
	}, red)
	require.Equal(t, []execution.PathRows{{Path: "a.out", Rows: 3}, {Path: "b.out", Rows: 2}}, d.Paths, "by path")
	require.Equal(t, [4]int64{3, 2, 1, 0}, [4]int64{d.RowsRead, d.RowsWritten, d.RowsRejected, d.MemoryPeakBytes})
	require.Equal(t, []string{"b", "f", "n", "s", "x"}, d.Tap.Columns)
	require.Len(t, d.Tap.Rows, 2)
	require.JSONEq(t, `[true,"NaN","***","the *** word",null]`, string(d.Tap.Rows[0]))
	var second []any
	require.NoError(t, json.Unmarshal(d.Tap.Rows[1], &second))
	require.Equal(t, []any{nil, 1.5, nil}, second[:3])
	require.LessOrEqual(t, len(second[3].(string)), execution.MaxTapValueBytes)
	require.Contains(t, second[3].(string), "bytes cut")
	require.Equal(t, "[1]", second[4])
	require.True(t, d.Tap.Truncated, "a text was cut")
}
