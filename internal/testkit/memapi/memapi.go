package memapi

import (
	"testing"
	"time"

	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/api/auth"
	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/catalog/catalogmem"
	"github.com/scaleout/scaleout/internal/executions/execmem"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
)

// Adapters are the in-memory adapters behind an API's Deps, for a test to
// read or drive what the API reads and writes.
type Adapters struct {
	// Store holds the executions; Workers is its registry.
	Store   *execmem.Store
	Workers *execmem.Registry
	// Catalog holds folders, projects and environments.
	Catalog *catalog.Catalog
	// Messages is the executions' messages.
	Messages *messages.Memory
	// Queues are the pools' queues, by pool.
	Queues map[string]*taskqueue.Memory
	// Stats is the aggregates the stream function keeps: a test folds
	// execution changes into it with aggregate.Handler.
	Stats *aggregate.Memory
}

// Deps returns the API's dependencies on new in-memory adapters, with a
// queue for each pool named (at least one) and authn as the
// authenticator, and the adapters themselves. The registry's clock is
// time.Now; the sealer's key is all zeros.
func Deps(t testing.TB, authn auth.Authenticator, pools ...string) (api.Deps, Adapters) {
	t.Helper()
	if len(pools) == 0 {
		t.Fatal("memapi.Deps: name at least one pool")
	}
	sealer, err := secrets.NewLocalSealer(make([]byte, 32))
	if err != nil {
		t.Fatalf("memapi.Deps: sealer: %v", err)
	}
	types := tasktypes.NewRegistry()
	cat, err := catalog.New(catalog.Config{Storage: catalogmem.New(), Types: types, Sealer: sealer})
	if err != nil {
		t.Fatalf("memapi.Deps: catalog: %v", err)
	}
	store := execmem.New(time.Now)
	a := Adapters{
		Store: store, Workers: store.Registry(), Catalog: cat, Messages: messages.NewMemory(),
		Queues: map[string]*taskqueue.Memory{}, Stats: aggregate.NewMemory(),
	}
	queues := map[string]api.Enqueuer{}
	for _, p := range pools {
		a.Queues[p] = taskqueue.NewMemory(taskqueue.MemoryOptions{})
		queues[p] = a.Queues[p]
	}
	return api.Deps{
		Store: a.Store, Catalog: a.Catalog, Workers: a.Workers, Messages: a.Messages, Types: types,
		Queues: queues, Stats: a.Stats, Auth: authn,
	}, a
}
