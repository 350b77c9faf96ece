package client_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/testkit/clienttest"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/scaleouttype"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// bundle is a test's setup: a stack and clients on it.
type bundle struct {
	stack  *clienttest.Stack
	admin  *client.Client
	reader *client.Client
}

func newClient(t *testing.T, endpoint, token string) *client.Client {
	t.Helper()
	c, err := client.New(client.Options{Endpoint: endpoint, Token: token, Timeout: 20 * time.Second})
	require.NoError(t, err)
	return c
}

// The client against a real stack (the API, a worker and the stream
// poller in this process, on the stand-ins). The subtests share it.
func TestClient(t *testing.T) {
	s := clienttest.Start(t, clienttest.Options{Prefix: "client"})
	b := bundle{stack: s, admin: newClient(t, s.URL, s.Token), reader: newClient(t, s.URL, s.ReaderToken)}
	require.NoError(t, b.admin.Health(t.Context()))

	t.Run("parallel", func(t *testing.T) {
		t.Run("DeployAndRun", func(t *testing.T) { t.Parallel(); testDeployAndRun(t, b) })
		t.Run("InvalidProject", func(t *testing.T) { t.Parallel(); testInvalidProject(t, b) })
		t.Run("FailingCommand", func(t *testing.T) { t.Parallel(); testFailingCommand(t, b) })
		t.Run("ListStopAndIdempotency", func(t *testing.T) { t.Parallel(); testListStopIdempotency(t, b) })
		t.Run("Errors", func(t *testing.T) { t.Parallel(); testErrors(t, b) })
		t.Run("Catalog", func(t *testing.T) { t.Parallel(); testCatalog(t, b) })
	})
	// Last, alone: the figures of what ran, and the one worker disabled
	// and enabled again.
	t.Run("Figures", func(t *testing.T) { testFigures(t, b) })
	t.Run("Workers", func(t *testing.T) { testWorkers(t, b) })
}

func testDeployAndRun(t *testing.T, b bundle) {
	ctx := t.Context()
	folder := testenv.Name("demo")
	f, created, err := b.admin.EnsureFolder(ctx, folder)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, folder, f.Name)
	_, created, err = b.admin.EnsureFolder(ctx, folder)
	require.NoError(t, err)
	require.False(t, created, "the second time the folder exists")

	bun, err := client.ReadBundle(os.DirFS("../examples"))
	require.NoError(t, err)
	var raw json.RawMessage
	v, err := b.admin.Deploy(ctx, folder, "examples", bun, client.Raw(&raw))
	require.NoError(t, err)
	require.Equal(t, 1, v.Version)
	require.Equal(t, []string{"failure-handled", "hello", "load-sales", "retry"}, v.Packages)
	require.Contains(t, string(raw), `"version": 1`, "Raw holds the API's JSON as it was sent")
	v, err = b.admin.Deploy(ctx, folder, "examples", bun)
	require.NoError(t, err)
	require.Equal(t, 2, v.Version)

	p, err := b.reader.DescribeProject(ctx, folder, "examples")
	require.NoError(t, err)
	require.Len(t, p.Packages, 4)
	vs, err := b.reader.Versions(ctx, folder, "examples")
	require.NoError(t, err)
	require.Len(t, vs, 2)

	e, err := b.admin.CreateExecution(ctx, scaleouttype.CreateExecutionRequest{
		Folder: folder, Project: "examples", Package: "hello", Parameters: map[string]any{"who": "Ada"},
	})
	require.NoError(t, err)
	require.Equal(t, execution.Pending, e.Status)
	require.Equal(t, 2, e.ProjectVersion)

	var got []messages.Message
	var statuses []execution.Status
	final, err := b.reader.Follow(ctx, e.ID, client.FollowOptions{
		Interval: 100 * time.Millisecond, PageSize: 2, // small pages: the cursor is followed across them
		OnMessage: func(m messages.Message, raw json.RawMessage) error {
			require.True(t, json.Valid(raw))
			got = append(got, m)
			return nil
		},
		OnStatus: func(e execution.Execution) { statuses = append(statuses, e.Status) },
	})
	require.NoError(t, err)
	require.Equal(t, execution.Succeeded, final.Status, final.Error)
	require.Equal(t, execution.Succeeded, statuses[len(statuses)-1])
	var kinds []string
	for i, m := range got {
		kinds = append(kinds, m.Kind)
		require.Equal(t, e.ID, m.ExecutionID)
		if i > 0 {
			require.Greater(t, m.Seq, got[i-1].Seq, "in order, none twice")
		}
		if m.Kind == "output" {
			require.Equal(t, "hello, Ada", m.Message)
		}
	}
	require.Equal(t, []string{"package_started", "task_started", "output", "task_ended", "package_ended"}, kinds)

	// The messages of an ended execution: Follow returns at once.
	n := 0
	_, err = b.reader.Follow(ctx, e.ID, client.FollowOptions{UntilNow: true,
		OnMessage: func(messages.Message, json.RawMessage) error { n++; return nil }})
	require.NoError(t, err)
	require.Equal(t, len(got), n)

	// A package file sent with the request.
	def, err := json.Marshal(bun.Packages["failure-handled"])
	require.NoError(t, err)
	e, err = b.admin.CreateExecution(ctx, scaleouttype.CreateExecutionRequest{Definition: def})
	require.NoError(t, err)
	final, err = b.reader.WaitFinal(ctx, e.ID, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, execution.Succeeded, final.Status, "a handled failure: %s", final.Error)
	require.Equal(t, "failure-handled", final.Package)
}

func testInvalidProject(t *testing.T, b bundle) {
	ctx := t.Context()
	folder := testenv.Name("bad")
	_, _, err := b.admin.EnsureFolder(ctx, folder)
	require.NoError(t, err)
	_, err = b.admin.Deploy(ctx, folder, "p", catalog.Bundle{Packages: map[string]string{
		"broken": "name: broken\ntasks:\n  - {name: a, type: exce}\n  - {name: b, type: sleep, after: [{task: zz}]}\n",
	}})
	var ae *client.Error
	require.ErrorAs(t, err, &ae)
	require.ErrorIs(t, err, client.ErrInvalid)
	require.Equal(t, 400, ae.StatusCode)
	require.Equal(t, "invalid", ae.Code)
	require.GreaterOrEqual(t, len(ae.Problems), 2, "every problem is listed")
	require.Contains(t, err.Error(), `unknown task type "exce"`)
}

func testFailingCommand(t *testing.T, b bundle) {
	ctx := t.Context()
	e, err := b.admin.CreateExecution(ctx, scaleouttype.CreateExecutionRequest{
		Package: testenv.Name("fails"), Command: []string{"sh", "-c", "echo broken >&2; exit 3"},
	})
	require.NoError(t, err)
	var lines []string
	final, err := b.admin.Follow(ctx, e.ID, client.FollowOptions{Interval: 100 * time.Millisecond,
		OnMessage: func(m messages.Message, _ json.RawMessage) error {
			if m.Kind == "output" {
				lines = append(lines, m.Message)
			}
			return nil
		}})
	require.NoError(t, err)
	require.Equal(t, execution.Failed, final.Status)
	require.Contains(t, final.Error, "exited with code 3")
	require.Equal(t, []string{"broken"}, lines)

	// ErrStopFollowing ends Follow early without an error.
	calls := 0
	_, err = b.admin.Follow(ctx, e.ID, client.FollowOptions{OnMessage: func(messages.Message, json.RawMessage) error {
		calls++
		return client.ErrStopFollowing
	}})
	require.NoError(t, err)
	require.Equal(t, 1, calls)
}

func testListStopIdempotency(t *testing.T, b bundle) {
	ctx := t.Context()
	pkg := testenv.Name("waits")
	// No worker serves pool "idle": the execution stays pending.
	req := scaleouttype.CreateExecutionRequest{Package: pkg, Pool: "idle", Command: []string{"true"}}
	key := testenv.Name("key")
	first, err := b.admin.CreateExecution(ctx, req, client.IdempotencyKey(key))
	require.NoError(t, err)
	again, err := b.admin.CreateExecution(ctx, req, client.IdempotencyKey(key))
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID, "the same key returns the same execution")
	req.Command = []string{"false"}
	_, err = b.admin.CreateExecution(ctx, req, client.IdempotencyKey(key))
	require.ErrorIs(t, err, client.ErrConflict, "the same key with another body")

	page, err := b.reader.ListExecutions(ctx, execstore.Filter{Package: pkg, Status: execution.Pending, Since: time.Now().Add(-time.Hour), Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Executions, 1)
	require.Equal(t, first.ID, page.Executions[0].ID)

	stopped, err := b.admin.StopExecution(ctx, first.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Canceled, stopped.Status)
	_, err = b.admin.StopExecution(ctx, first.ID)
	require.ErrorIs(t, err, client.ErrConflict, "an ended execution cannot be stopped")

	page, err = b.reader.ListExecutions(ctx, execstore.Filter{Package: pkg, Status: execution.Pending})
	require.NoError(t, err)
	require.Empty(t, page.Executions)
}

func testErrors(t *testing.T, b bundle) {
	ctx := t.Context()
	_, err := b.reader.GetExecution(ctx, "01a21491-44d5-72a9-a368-9fc28c6fb224")
	require.ErrorIs(t, err, client.ErrNotFound)
	var ae *client.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "not_found", ae.Code)
	require.Equal(t, "/v1/executions/01a21491-44d5-72a9-a368-9fc28c6fb224", ae.Path)

	_, err = b.reader.CreateExecution(ctx, scaleouttype.CreateExecutionRequest{Command: []string{"true"}})
	require.ErrorIs(t, err, client.ErrForbidden)
	require.Contains(t, err.Error(), "needs the executor role")

	_, err = newClient(t, b.stack.URL, "not-a-valid-token-at-all").Workers(ctx)
	require.ErrorIs(t, err, client.ErrUnauthenticated)
	_, err = newClient(t, b.stack.URL, "").Workers(ctx)
	require.ErrorIs(t, err, client.ErrUnauthenticated)

	_, err = b.admin.CreateExecution(ctx, scaleouttype.CreateExecutionRequest{Definition: json.RawMessage(`"name: x\ntasks: []\n"`),
		Parameters: map[string]any{"nobody": 1}})
	require.ErrorIs(t, err, client.ErrInvalid)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "invalid_package", ae.Code)
	require.NotEmpty(t, ae.Problems)

	_, err = b.reader.GetWorker(ctx, "no-such-worker")
	require.ErrorIs(t, err, client.ErrNotFound)
	_, err = b.reader.Messages(ctx, "01a21491-44d5-72a9-a368-9fc28c6fb224", "", 0)
	require.ErrorIs(t, err, client.ErrNotFound)

	_, err = client.New(client.Options{Endpoint: "127.0.0.1:8080"})
	require.ErrorContains(t, err, "give the API's base URL")

	// Nothing listens there: the error says where it tried.
	dead, err := client.New(client.Options{Endpoint: "http://127.0.0.1:1", Token: "x", Retries: -1})
	require.NoError(t, err)
	err = dead.Health(ctx)
	require.ErrorContains(t, err, "http://127.0.0.1:1/v1/health")
	require.ErrorContains(t, err, "is the API running there?")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, dead.Health(canceled), context.Canceled)
}

func testFigures(t *testing.T, b bundle) {
	ctx := t.Context()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		d, err := b.reader.Dashboard(ctx, 1)
		require.NoError(c, err)
		assert.GreaterOrEqual(c, d.Counts[execution.Succeeded], int64(2))
		assert.GreaterOrEqual(c, d.Counts[execution.Failed], int64(1))
	}, 30*time.Second, 200*time.Millisecond, "the stream poller folds what ended into the dashboard")
	var raw json.RawMessage
	_, err := b.reader.Dashboard(ctx, 0, client.Raw(&raw))
	require.NoError(t, err)
	require.Contains(t, string(raw), `"hourly"`)

	st, err := b.reader.Stats(ctx, aggregate.Filter{})
	require.NoError(t, err)
	require.GreaterOrEqual(t, st.Counts[execution.Succeeded], int64(2))
	_, err = b.reader.Stats(ctx, aggregate.Filter{Package: "p", Folder: "bad name!"})
	require.ErrorIs(t, err, client.ErrInvalid)

	pools, err := b.reader.Pools(ctx)
	require.NoError(t, err)
	var names []string
	for _, p := range pools {
		names = append(names, p.Pool)
	}
	require.Equal(t, []string{"default", "idle"}, names)
}

func testWorkers(t *testing.T, b bundle) {
	ctx := t.Context()
	id := b.stack.WorkerID
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		ws, err := b.reader.Workers(ctx)
		require.NoError(c, err)
		found := false
		for _, w := range ws {
			found = found || w.ID == id && w.Online && w.Enabled
		}
		assert.True(c, found, "worker %s online and enabled", id)
	}, 20*time.Second, 100*time.Millisecond, "the stack's worker registers")

	w, err := b.admin.DisableWorker(ctx, id)
	require.NoError(t, err)
	require.False(t, w.Enabled)
	_, err = b.reader.EnableWorker(ctx, id)
	require.ErrorIs(t, err, client.ErrForbidden, "a reader may not enable a worker")
	desc := "the test stack's worker"
	w, err = b.admin.UpdateWorker(ctx, id, scaleouttype.UpdateWorkerRequest{Description: &desc})
	require.NoError(t, err)
	require.Equal(t, desc, w.Description)
	w, err = b.admin.EnableWorker(ctx, id)
	require.NoError(t, err)
	require.True(t, w.Enabled)
	w, err = b.reader.GetWorker(ctx, id)
	require.NoError(t, err)
	require.True(t, w.Enabled)
	require.Equal(t, []string{"default"}, w.Pools)

	_, err = b.admin.RemoveWorker(ctx, "no-such-worker")
	require.ErrorIs(t, err, client.ErrNotFound)
	require.NotErrorIs(t, err, client.ErrConflict)
	require.Contains(t, err.Error(), "(not_found, HTTP 404)")
}
