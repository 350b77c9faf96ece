package aggregatetest_test

import (
	"testing"

	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/stream/aggregate/aggregatetest"
)

// Memory passes the conformance suite, without the stand-ins.
func TestMemory(t *testing.T) {
	t.Parallel()
	aggregatetest.Run(t, func(t *testing.T, opts ...aggregate.Option) aggregatetest.Store {
		return aggregate.NewMemory(opts...)
	})
}

// The API reads its figures from a Memory as it does from a Store.
var _ api.Stats = (*aggregate.Memory)(nil)
