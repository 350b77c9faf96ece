package execmem_test

import (
	"testing"

	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/executions/execmem"
	"github.com/scaleout/scaleout/internal/executions/exectest"
	"github.com/scaleout/scaleout/internal/executions/reconcile"
	"github.com/scaleout/scaleout/internal/testkit/testclock"
	"github.com/scaleout/scaleout/internal/worker"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytest"
)

// The ports the in-memory adapters serve, as the DynamoDB ones do.
var (
	_ worker.Store    = (*execmem.Store)(nil)
	_ api.Store       = (*execmem.Store)(nil)
	_ reconcile.Store = (*execmem.Store)(nil)
	_ exectest.Store  = (*execmem.Store)(nil)
	_ worker.Registry = (*execmem.Registry)(nil)
	_ api.Workers     = (*execmem.Registry)(nil)
)

// The in-memory store passes the execution stores' conformance suite,
// with no stand-ins.
func TestConformance(t *testing.T) {
	exectest.Run(t, func(t *testing.T) exectest.Harness {
		clock := testclock.New()
		s := execmem.New(clock.Now)
		return exectest.Harness{Store: s, Registry: s.Registry(), Clock: clock}
	})
}

// The in-memory registry passes the registries' conformance suite.
func TestRegistryConformance(t *testing.T) {
	registrytest.Run(t, func(t *testing.T, o registrytest.Options) registrytest.Harness {
		clock := testclock.New()
		r := execmem.New(clock.Now).Registry()
		if o.Retention > 0 {
			r.Retention = o.Retention
		}
		return registrytest.Harness{Registry: r, Clock: clock}
	})
}
