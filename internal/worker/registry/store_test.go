package registry_test

import (
	"testing"

	"github.com/scaleout/scaleout/internal/testkit/testclock"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The DynamoDB registry passes the registries' conformance suite, on
// DynamoDB Local.
func TestConformance(t *testing.T) {
	registrytest.Run(t, func(t *testing.T, o registrytest.Options) registrytest.Harness {
		env := testenv.AWS(t)
		c := testclock.New()
		s := registry.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name)
		s.Now = c.Now
		if o.Retention > 0 {
			s.Retention = o.Retention
		}
		return registrytest.Harness{Registry: s, Clock: c}
	})
}
