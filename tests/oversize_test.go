package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ex "github.com/scaleout/scaleout/pkg/execution"
)

// post sends a request to the API and returns its status and body.
func (s *poolStack) post(t *testing.T, ctx context.Context, path string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+stackToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.api.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// TestOversizedInputs: what the API accepts is recorded to its end, with
// what is too long cut and marked; what could not be recorded is refused
// with a 400 that names the limit.
func TestOversizedInputs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := startPoolStack(t, ctx, "oversize")
	ws := s.workerSet(t)
	ws.start("oversize-w1", map[string]string{"SCALEOUT_WORKER_CONCURRENCY": "1", "SCALEOUT_LEASE": "3s", "SCALEOUT_POLL_WAIT": "1s"})

	// A program name of 100,000 bytes: accepted; it cannot start, and the
	// errors that quote it are cut, so the execution ends failed by the
	// worker that ran it (not ended_unexpectedly once its lease ran out).
	e, err := s.submit(ctx, map[string]any{"command": []string{strings.Repeat("a", 100_000)}})
	require.NoError(t, err)
	got := s.waitExecutions(t, ctx, []string{e.ID}, 60*time.Second, "final", func(e ex.Execution) bool { return e.Status.Final() }, ws.logs)[e.ID]
	require.Equal(t, ex.Failed, got.Status, "%s", got.Error)
	require.Equal(t, 1, got.Attempt)
	require.Empty(t, got.Attempts, "no attempt was lost")
	require.Equal(t, "oversize-w1", got.WorkerID)
	require.LessOrEqual(t, len(got.Error), ex.MaxErrorBytes)
	require.Contains(t, got.Error, "bytes cut")
	require.Contains(t, got.Error, "program did not start", "the end of the error is kept")
	require.Len(t, got.Tasks, 1)
	require.LessOrEqual(t, len(got.Tasks[0].Error), ex.MaxTaskErrorBytes)
	require.Contains(t, got.Tasks[0].Error, "bytes cut")
	require.NotEmpty(t, s.messages(t, ctx, e.ID), "its messages were written")

	for _, tc := range []struct {
		name string
		body map[string]any
		code string
		want []string
	}{
		{"a command over 128 KiB", map[string]any{"command": []string{"echo", strings.Repeat("b", 70_000), strings.Repeat("c", 70_000)}},
			"invalid_request", []string{"command: 140004 bytes in its 3 strings, at most 131072"}},
		{"parameters over 64 KiB", map[string]any{
			"definition": map[string]any{"name": "p", "parameters": map[string]any{"blob": map[string]any{"type": "string"}},
				"tasks": []any{map[string]any{"name": "main", "type": "exec", "with": map[string]any{"command": []string{"true"}}}}},
			"parameters": map[string]any{"blob": strings.Repeat("p", 70_000)}},
			"invalid_request", []string{"parameters: ", "at most 65536"}},
		// Each within its limit, but a sensitive value is stored sealed,
		// a third larger.
		{"a definition and sealed parameters over 320 KiB together", map[string]any{
			"definition": map[string]any{"name": "p", "description": strings.Repeat("d", 250_000),
				"parameters": map[string]any{"blob": map[string]any{"type": "string", "sensitive": true}},
				"tasks":      []any{map[string]any{"name": "main", "type": "exec", "with": map[string]any{"command": []string{"true"}}}}},
			"parameters": map[string]any{"blob": strings.Repeat("p", 65_000)}},
			"too_large", []string{"at most 327680", "make the definition or the parameters smaller"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := s.post(t, ctx, "/v1/executions", tc.body)
			require.Equal(t, http.StatusBadRequest, status, "%s", body)
			var resp struct {
				Error struct{ Code, Message string }
			}
			require.NoError(t, json.Unmarshal(body, &resp), "%s", body)
			require.Equal(t, tc.code, resp.Error.Code, "%s", body)
			for _, w := range tc.want {
				require.Contains(t, resp.Error.Message, w)
			}
		})
	}
}
