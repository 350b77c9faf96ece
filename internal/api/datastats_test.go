package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
)

// An ended execution with a dataflow task shows its statistics in the
// task's summary and, flat, at data-statistics; both answers validate
// against the OpenAPI document (do checks them).
func TestDataStatistics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	code, out, _ := do(t, b, "POST", "/v1/executions", adminToken, `{"folder":"f","package":"flow","command":["true"]}`)
	require.Equal(t, http.StatusCreated, code, out)
	id := out["id"].(string)

	code, out, _ = do(t, b, "GET", "/v1/executions/"+id+"/data-statistics", readerToken, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, map[string]any{"execution_id": id, "statistics": []any{}}, out, "none before the end")

	_, sess, _, err := b.workers.Register(ctx, registrytype.Registration{ID: "flow-worker", Machine: "m", Pools: []string{"default"}, MaxTasks: 1, Version: "test"}, time.Minute)
	require.NoError(t, err)
	running, err := b.store.Claim(ctx, id, sess, time.Now())
	require.NoError(t, err)
	_, err = b.store.Finish(ctx, execution.LeaseOf(running), execution.Result{Status: execution.Succeeded, Tasks: []execution.TaskSummary{
		{Path: "write", Status: "succeeded", Attempts: 1, DurationMS: 3},
		{Path: "flow", Status: "succeeded", Attempts: 1, DurationMS: 40, DataFlow: &execution.DataFlowStats{
			Paths:    []execution.PathRows{{Path: "read.out", Rows: 4}, {Path: "split.small", Rows: 1}, {Path: "split.rest", Rows: 3}},
			RowsRead: 4, RowsWritten: 4, MemoryPeakBytes: 2048,
			Tap: &execution.TapRows{Path: "read.out", Columns: []string{"id", "name"}, Rows: []json.RawMessage{[]byte(`[1,"a"]`), []byte(`[2,null]`)}},
		}},
	}}, time.Now())
	require.NoError(t, err)

	code, out, _ = do(t, b, "GET", "/v1/executions/"+id, readerToken, "")
	require.Equal(t, http.StatusOK, code, out)
	tasks := out["tasks"].([]any)
	require.NotContains(t, tasks[0].(map[string]any), "data_flow")
	require.Equal(t, map[string]any{
		"paths": []any{
			map[string]any{"path": "read.out", "rows": 4.0}, map[string]any{"path": "split.small", "rows": 1.0},
			map[string]any{"path": "split.rest", "rows": 3.0},
		},
		"rows_read": 4.0, "rows_written": 4.0, "rows_rejected": 0.0, "memory_peak_bytes": 2048.0,
		"tap": map[string]any{"path": "read.out", "columns": []any{"id", "name"}, "rows": []any{[]any{1.0, "a"}, []any{2.0, nil}}},
	}, tasks[1].(map[string]any)["data_flow"])

	code, out, _ = do(t, b, "GET", "/v1/executions/"+id+"/data-statistics", readerToken, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, map[string]any{"execution_id": id, "statistics": []any{
		map[string]any{"task": "flow", "path": "read.out", "rows": 4.0},
		map[string]any{"task": "flow", "path": "split.small", "rows": 1.0},
		map[string]any{"task": "flow", "path": "split.rest", "rows": 3.0},
	}}, out)

	code, out, _ = do(t, b, "GET", "/v1/executions/not-an-id/data-statistics", readerToken, "")
	require.Equal(t, http.StatusNotFound, code, out)
	code, out, _ = do(t, b, "GET", "/v1/executions/01a2149a-6c1e-7a55-9d0f-2b7c4d8e9f10/data-statistics", readerToken, "")
	require.Equal(t, http.StatusNotFound, code, out)
	code, out, _ = do(t, b, "GET", "/v1/executions/"+id+"/data-statistics", "", "")
	require.Equal(t, http.StatusUnauthorized, code, out)
}
