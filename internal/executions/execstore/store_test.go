package execstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

// The store's rules are package exectest's conformance suite
// (conformance_test.go); the tests here are of how it uses DynamoDB.

func TestMain(m *testing.M) { testenv.Main(m) }

// session registers a worker of its own and returns its session.
func session(t *testing.T) registry.Session {
	t.Helper()
	env := testenv.AWS(t)
	_, sess, _, err := registry.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name).Register(context.Background(),
		registry.Registration{ID: testenv.Name("w"), Machine: "m", Pools: []string{"default"}, MaxTasks: 1}, time.Minute)
	require.NoError(t, err)
	return sess
}
