package assemble_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/assemble"
	"github.com/scaleout/scaleout/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is the worker's environment on the stand-ins' shared resources.
func env(extra map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := extra[k]; ok {
			return v
		}
		switch k {
		case "SCALEOUT_PREFIX":
			return testenv.Prefix
		case "SCALEOUT_POOLS":
			return "default,other,api"
		}
		return ""
	}
}

// A worker in an ECS task is named after the task, not after its host
// name and process id, which a task that gets a released address shares
// with the task that had it.
func TestWorkerIsNamedAfterItsTask(t *testing.T) {
	t.Parallel()
	e := testenv.AWS(t)
	task, err := os.ReadFile("testdata/fargate-task.json")
	require.NoError(t, err)
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v4/0123abcd/task" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(task)
	}))
	t.Cleanup(metadata.Close)

	ctx := context.Background()
	cfg, _, err := assemble.Load(ctx, env(map[string]string{"ECS_CONTAINER_METADATA_URI_V4": metadata.URL + "/v4/0123abcd"}))
	require.NoError(t, err)
	w, err := assemble.Worker(ctx, cfg, e.Clients, nil)
	require.NoError(t, err)
	require.Equal(t, "9781c248c5c94c5f8f7f2ac0b2a3c5a7", w.ID())

	// SCALEOUT_WORKER_ID still wins.
	cfg, _, err = assemble.Load(ctx, env(map[string]string{
		"ECS_CONTAINER_METADATA_URI_V4": metadata.URL + "/v4/0123abcd", "SCALEOUT_WORKER_ID": "etl-7",
	}))
	require.NoError(t, err)
	w, err = assemble.Worker(ctx, cfg, e.Clients, nil)
	require.NoError(t, err)
	require.Equal(t, "etl-7", w.ID())
}
