package execstore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
)

// The largest execution the API accepts, with every failed and lost
// attempt it may have and a result at its caps, fits in a DynamoDB item:
// whatever is accepted can be recorded to its end.
func TestBudget(t *testing.T) {
	t.Parallel()
	now := time.Now()
	name := strings.Repeat("n", 128)
	e := execution.Execution{
		ID: "01a23cbf-1a2c-7925-b119-a2ea5088b808", Folder: name, Project: name, Package: name, Pool: name,
		Status: execution.Failed, CallbackURL: "https://" + strings.Repeat("u", 2040),
		Retries: execution.MaxRetries, LostRetries: execution.MaxRetries, Attempt: 2*execution.MaxRetries + 1,
		WorkerID: strings.Repeat("w", 128), Session: "01a23cbf-1a2c-7925-b119-a2ea5088b809",
		CreatedAt: now, StartedAt: &now, EndedAt: &now, EnqueuedAt: &now, NotBefore: &now, Requeues: 1000,
	}
	res := execution.Result{Status: execution.Failed, Error: strings.Repeat("E", 1<<20)}
	for i := range 1000 {
		res.Tasks = append(res.Tasks, execution.TaskSummary{Path: fmt.Sprintf("t%d", i) + strings.Repeat("p", 2000),
			Status: "failed", Attempts: 100, DurationMS: 1 << 40, Error: strings.Repeat("e", 5000)})
	}
	res = res.Fit()
	e.Error, e.Tasks, e.TasksOmitted = res.Error, res.Tasks, res.TasksOmitted
	for i := range 2 * (execution.MaxRetries + 1) {
		e.Attempts = append(e.Attempts, execution.AttemptRecord{Attempt: i + 1, WorkerID: e.WorkerID, StartedAt: now, EndedAt: now,
			Outcome: execution.OutcomeFailed, Reason: strings.Repeat("r", 1<<20)})
	}
	// The submission fills what may be submitted: its definition takes
	// what the rest of the item at submission leaves.
	sub := e
	sub.Error, sub.Tasks, sub.TasksOmitted, sub.Attempts = "", nil, 0, nil
	it, err := toItem(sub, 90*24*time.Hour)
	require.NoError(t, err)
	av, err := attributevalue.MarshalMap(it)
	require.NoError(t, err)
	e.Definition = []byte(`"` + strings.Repeat("d", execution.MaxSubmittedBytes-itemSize(av)-len("definition")-2) + `"`)
	sub.Definition = e.Definition
	it, err = toItem(sub, 90*24*time.Hour)
	require.NoError(t, err)
	av, err = attributevalue.MarshalMap(it)
	require.NoError(t, err)
	require.NoError(t, checkSubmittedSize(sub, av), "at the submission limit")

	it, err = toItem(e, 90*24*time.Hour)
	require.NoError(t, err)
	av, err = attributevalue.MarshalMap(it)
	require.NoError(t, err)
	size := itemSize(av)
	t.Logf("largest execution at its end: %d bytes of %d", size, execution.MaxItemBytes)
	require.Less(t, size, execution.MaxItemBytes-10<<10, "with room for the released attempts and the size estimate's error")
}

// Task summaries holding data flow statistics at their caps take about
// as much of the item as their JSON (what Result.Fit counts), so TestBudget's
// room holds for them too.
func TestBudgetWithDataFlows(t *testing.T) {
	t.Parallel()
	var res execution.Result
	for i := range 300 {
		flow := &execution.DataFlowStats{RowsRead: 1 << 40, RowsWritten: 1 << 40, RowsRejected: 1 << 40, MemoryPeakBytes: 1 << 40,
			Tap: &execution.TapRows{Path: strings.Repeat("c", 100) + ".out", Columns: []string{"a", "b", "c"}}}
		for j := range 60 {
			flow.Paths = append(flow.Paths, execution.PathRows{Path: fmt.Sprintf("p%d.out", j), Rows: 1 << 40})
		}
		for range 200 {
			flow.Tap.Rows = append(flow.Tap.Rows, []byte(`[1,2,3]`))
		}
		res.Tasks = append(res.Tasks, execution.TaskSummary{Path: fmt.Sprintf("t%d", i), Status: "succeeded", Attempts: 1, DurationMS: 1, DataFlow: flow})
	}
	res = res.Fit()
	require.NotNil(t, res.Tasks[0].DataFlow)
	require.NotNil(t, res.Tasks[0].DataFlow.Tap)
	av, err := attributevalue.Marshal(res.Tasks)
	require.NoError(t, err)
	size := valueSize(av)
	t.Logf("task summaries with data flows: %d bytes in the item, at most %d as JSON", size, execution.MaxTasksBytes)
	require.Less(t, size, execution.MaxTasksBytes+4<<10)
}
