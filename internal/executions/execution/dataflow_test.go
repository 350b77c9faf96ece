package execution

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// flow returns statistics with n paths and a tap of rows rows, each row
// a value of width bytes.
func flow(n, rows, width int) *DataFlowStats {
	d := &DataFlowStats{RowsRead: 7, RowsWritten: 6, RowsRejected: 1, MemoryPeakBytes: 4096}
	for i := range n {
		d.Paths = append(d.Paths, PathRows{Path: fmt.Sprintf("comp%03d.out", i), Rows: int64(i)})
	}
	if rows > 0 {
		d.Tap = &TapRows{Path: "comp000.out", Columns: []string{"v"}}
		for i := range rows {
			b, _ := json.Marshal([]any{fmt.Sprintf("%0*d", width, i)})
			d.Tap.Rows = append(d.Tap.Rows, b)
		}
	}
	return d
}

func TestFitDataFlowKeepsSmallStatisticsWhole(t *testing.T) {
	t.Parallel()
	d := flow(3, 2, 4)
	got := FitDataFlow(d, MaxDataFlowBytes)
	require.Equal(t, d, got)
	require.NotSame(t, d, got, "a copy")
	require.False(t, got.Truncated)
	require.Nil(t, FitDataFlow(nil, MaxDataFlowBytes))
}

func TestFitDataFlowCutsTheTapToItsCaps(t *testing.T) {
	t.Parallel()
	got := FitDataFlow(flow(2, 500, 1), 1<<20)
	require.Len(t, got.Tap.Rows, MaxTapRows, "at most MaxTapRows rows")
	require.True(t, got.Tap.Truncated)
	require.False(t, got.Truncated, "the paths are whole")

	got = FitDataFlow(flow(2, 50, 200), 1<<20)
	require.True(t, got.Tap.Truncated)
	require.LessOrEqual(t, jsonSize(got.Tap.Rows), MaxTapBytes, "at most MaxTapBytes of rows")
	require.Less(t, MaxTapBytes-jsonSize(got.Tap.Rows), 210, "as many rows as fit")
	require.Equal(t, flow(2, 50, 200).Tap.Rows[:len(got.Tap.Rows)], got.Tap.Rows, "the first rows")
}

func TestFitDataFlowDropsTheTapThenPaths(t *testing.T) {
	t.Parallel()
	d := flow(10, 20, 100)
	whole := jsonSize(FitDataFlow(d, 1<<20))
	got := FitDataFlow(d, whole-1)
	require.Nil(t, got.Tap, "the tap goes first")
	require.True(t, got.Truncated)
	require.Zero(t, got.PathsOmitted)
	require.Len(t, got.Paths, 10)

	got = FitDataFlow(flow(500, 0, 0), MaxDataFlowBytes)
	require.True(t, got.Truncated)
	require.LessOrEqual(t, jsonSize(got), MaxDataFlowBytes)
	require.Greater(t, jsonSize(got), MaxDataFlowBytes-40, "as many paths as fit")
	require.Equal(t, flow(500, 0, 0).Paths[:len(got.Paths)], got.Paths, "the first paths")
	require.Equal(t, 500, len(got.Paths)+got.PathsOmitted)
	require.Equal(t, int64(7), got.RowsRead, "the totals stay")

	require.Nil(t, FitDataFlow(d, 20), "not even the totals fit")
}

// Data flow statistics fit in the room the summaries leave: a summary is
// never left out for them, and the whole stays within MaxTasksBytes.
func TestFitGivesDataFlowsTheRoomLeft(t *testing.T) {
	t.Parallel()
	var r Result
	for i := range 30 {
		r.Tasks = append(r.Tasks, TaskSummary{Path: fmt.Sprintf("flow%d", i), Status: "succeeded", Attempts: 1, DataFlow: flow(100, 100, 30)})
	}
	got := r.Fit()
	require.Len(t, got.Tasks, 30)
	require.Zero(t, got.TasksOmitted)
	b, _ := json.Marshal(got.Tasks)
	require.LessOrEqual(t, len(b), MaxTasksBytes)
	require.NotNil(t, got.Tasks[0].DataFlow)
	require.LessOrEqual(t, jsonSize(got.Tasks[0].DataFlow), MaxDataFlowBytes)
	require.Nil(t, got.Tasks[29].DataFlow, "no room left for the last ones")
	require.Len(t, r.Tasks[0].DataFlow.Tap.Rows, 100, "the result given is not changed")

	// Summaries filling the room on their own keep no statistics, and
	// none is omitted for them.
	r = Result{}
	for i := range 40 {
		r.Tasks = append(r.Tasks, TaskSummary{Path: fmt.Sprintf("t%d", i), Status: "failed", Error: strings.Repeat("e", 900), DataFlow: flow(1, 0, 0)})
	}
	got = r.Fit()
	require.Equal(t, 40, len(got.Tasks)+got.TasksOmitted)
	plain := r
	plain.Tasks = nil
	for _, t := range r.Tasks {
		t.DataFlow = nil
		plain.Tasks = append(plain.Tasks, t)
	}
	require.Equal(t, plain.Fit().TasksOmitted, got.TasksOmitted)
	b, _ = json.Marshal(got.Tasks)
	require.LessOrEqual(t, len(b), MaxTasksBytes)
}
