package execstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/leasetest"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

// The DynamoDB store keeps the lease rules: executions in the executions
// table, sessions in the worker registry (catalog table), on DynamoDB
// Local.
func TestLeaseRules(t *testing.T) {
	leasetest.Run(t, func(t *testing.T) leasetest.Harness {
		env := testenv.AWS(t)
		clock := leasetest.NewClock()
		reg := registry.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name)
		reg.Now = clock.Now
		return leasetest.Harness{
			Store:    execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name),
			Registry: reg,
			Clock:    clock,
		}
	})
}

func TestMarkEnqueued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	s, e := setup(t)
	require.NoError(t, s.MarkEnqueued(ctx, e, now.Add(time.Second)))
	var c *execution.ConflictError
	require.ErrorAs(t, s.MarkEnqueued(ctx, e, now.Add(time.Second)), &c, "only one of two reconcilers sends")
	got, err := s.Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, 1, got.Requeues)
	require.NoError(t, s.MarkEnqueued(ctx, got, now.Add(2*time.Second)))
}
