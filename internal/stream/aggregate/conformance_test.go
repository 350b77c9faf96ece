package aggregate_test

import (
	"testing"

	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/stream/aggregate/aggregatetest"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// The DynamoDB store passes the conformance suite on DynamoDB Local, each
// store in a scope of its own on the shared catalog table: its made-up
// records (changes without their earlier ones, so negative counts; ids
// that are not UUIDs) stay out of the figures other packages' tests read.
func TestConformance(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	aggregatetest.Run(t, func(t *testing.T, opts ...aggregate.Option) aggregatetest.Store {
		scope := aggregate.WithScope(testenv.Name("conformance") + "#")
		return aggregate.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, append([]aggregate.Option{scope}, opts...)...)
	})
}
