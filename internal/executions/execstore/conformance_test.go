package execstore_test

import (
	"testing"

	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/exectest"
	"github.com/scaleout/scaleout/internal/testkit/testclock"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

// The DynamoDB store passes the execution stores' conformance suite:
// executions in the executions table, sessions in the worker registry
// (catalog table), on DynamoDB Local.
func TestConformance(t *testing.T) {
	exectest.Run(t, func(t *testing.T) exectest.Harness {
		env := testenv.AWS(t)
		clock := testclock.New()
		reg := registry.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name)
		reg.Now = clock.Now
		return exectest.Harness{
			Store:    execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name),
			Registry: reg,
			Clock:    clock,
		}
	})
}
