// Package aggregatetest is the conformance suite of the aggregate stores:
// what every aggregate.Writer and aggregate.Reader must do so that the
// catalog's figures (executions by status per package, project, folder,
// pool, worker and in all; durations; the dashboard's hourly buckets; the
// last execution and last failure of a package) equal a recount of the
// executions themselves, however Lambda delivers the stream: batches
// twice, in bisected pieces, from a failed record on, from two shards
// interleaved.
//
// A store runs it from a test of its own:
//
//	func TestConformance(t *testing.T) {
//		aggregatetest.Run(t, func(t *testing.T, opts ...aggregate.Option) aggregatetest.Store {
//			return aggregate.NewMemory(opts...)
//		})
//	}
//
// The DynamoDB store runs it against DynamoDB Local (in package
// aggregate's tests, each store in a scope of its own on the shared test
// table); aggregate.Memory runs it here, without the stand-ins. Tests of a
// store's own make (writes per batch, item sizes, partition keys) stay
// with that store.
package aggregatetest
