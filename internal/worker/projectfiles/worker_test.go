package projectfiles_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/executions/execmem"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/packages/pkgrun"
	"github.com/scaleout/scaleout/internal/packages/scratch"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/testkit/dbtest"
	"github.com/scaleout/scaleout/internal/worker"
	"github.com/scaleout/scaleout/internal/worker/projectfiles"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// loadPackage cats a file of its project and runs another as an sql
// task's statement.
const loadPackage = `name: load
parameters:
  host: {type: string}
  port: {type: int}
  database: {type: string}
  user: {type: string}
  password: {type: string, sensitive: true}
variables:
  loaded: {type: int}
connections:
  db:
    kind: postgres
    host: ${params.host}
    port: ${params.port}
    database: ${params.database}
    user: ${params.user}
    password: ${params.password}
    options: {sslmode: disable}
tasks:
  - name: show
    type: exec
    with: {command: [cat, conf/greeting.txt]}
  - name: load
    type: sql
    after: [{task: show}]
    with: {connection: db, file: sql/load.sql}
  - name: count
    type: sql
    after: [{task: load}]
    with: {connection: db, result: scalar, statement: "SELECT count(*) FROM loaded"}
    outputs: {loaded: value}
`

// A worker on in-memory adapters runs a deployed package whose exec task
// reads a file of its project version and whose sql task runs another;
// the files are fetched once for two runs of that version, and a later
// version's run gets that version's files.
func TestDeployedPackageReadsItsProjectFiles(t *testing.T) {
	t.Parallel()
	d := dbtest.Postgres(t)
	cat := newCatalog(t)
	ctx := t.Context()
	deployFiles := func(greeting, load string) {
		_, err := cat.Deploy(ctx, "f", "etl", catalog.Bundle{Packages: map[string]string{"load": loadPackage},
			Files: map[string]string{"conf/greeting.txt": greeting, "sql/load.sql": load}}, "test")
		require.NoError(t, err)
	}
	deployFiles("hello from version 1\n",
		"CREATE TABLE IF NOT EXISTS loaded (n int);\nINSERT INTO loaded SELECT generate_series(1, 3);\n")

	store := execmem.New(nil)
	queue := taskqueue.NewMemory(taskqueue.MemoryOptions{})
	msgs := messages.NewMemory()
	cache, err := projectfiles.New(cat, projectfiles.Options{Root: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cache.Close() })
	runner := pkgrun.Runner{Types: tasktypes.NewRegistry(), Messages: msgs, Files: cache,
		Scratch: scratch.Options{Root: t.TempDir()}}
	w, err := worker.New(store, queue, runner, worker.Config{Registry: store.Registry(), Pools: []string{"default"},
		PollWait: time.Second, Lease: 3 * time.Second})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); assert.NoError(t, w.Run(runCtx)) }()
	t.Cleanup(func() { stop(); <-done })

	submit := func() execution.Execution {
		t.Helper()
		res, err := cat.Resolve(ctx, "f", "etl", "load", nil, map[string]any{"host": d.Host, "port": d.Port,
			"database": d.Name, "user": d.User, "password": d.Password})
		require.NoError(t, err)
		e := execution.Execution{ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "etl", Package: "load",
			ProjectVersion: res.ProjectVersion, Pool: "default", Status: execution.Pending, Definition: res.Definition,
			Parameters: res.Params, LostRetries: execution.DefaultLostRetries, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
		require.NoError(t, store.Create(ctx, e))
		require.NoError(t, queue.Send(ctx, taskqueue.Task{ExecutionID: e.ID, Pool: "default"}))
		return e
	}
	wait := func(id string) execution.Execution {
		t.Helper()
		var e execution.Execution
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			var err error
			e, err = store.Get(ctx, id)
			require.NoError(c, err)
			assert.True(c, e.Status.Final(), "status %s", e.Status)
		}, 60*time.Second, 20*time.Millisecond)
		return e
	}
	output := func(id string) string {
		t.Helper()
		page, err := msgs.List(ctx, id, "", 1000)
		require.NoError(t, err)
		var b strings.Builder
		for _, m := range page.Messages {
			if m.Task == "show" && m.Stream == "stdout" {
				b.WriteString(m.Message + "\n")
			}
		}
		return b.String()
	}

	for range 2 {
		e := wait(submit().ID)
		require.Equal(t, execution.Succeeded, e.Status, e.Error)
		require.Equal(t, 1, e.ProjectVersion)
		require.Equal(t, "hello from version 1\n", output(e.ID))
	}
	var n int
	require.NoError(t, d.Open(t).QueryRowContext(ctx, "SELECT count(*) FROM loaded").Scan(&n))
	require.Equal(t, 6, n, "sql/load.sql ran in both runs")
	require.Equal(t, 1, cache.Fetches(), "version 1's files were fetched once")

	deployFiles("hello from version 2\n", "INSERT INTO loaded VALUES (100);")
	e := wait(submit().ID)
	require.Equal(t, execution.Succeeded, e.Status, e.Error)
	require.Equal(t, 2, e.ProjectVersion)
	require.Equal(t, "hello from version 2\n", output(e.ID))
	require.Equal(t, 2, cache.Fetches())
	require.NoError(t, d.Open(t).QueryRowContext(ctx, "SELECT count(*) FROM loaded WHERE n = 100").Scan(&n))
	require.Equal(t, 1, n)

	// A version no longer in the catalog fails the run, saying so.
	gone := submit()
	gone.ID, gone.ProjectVersion = uuid.Must(uuid.NewV7()).String(), 40
	require.NoError(t, store.Create(ctx, gone))
	require.NoError(t, queue.Send(ctx, taskqueue.Task{ExecutionID: gone.ID, Pool: "default"}))
	e = wait(gone.ID)
	require.Equal(t, execution.Failed, e.Status)
	require.Contains(t, e.Error, "project files of f/etl version 40")
}
