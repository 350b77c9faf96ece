// Package exectest is the conformance suite of the execution stores: what
// every store of executions, with the worker registry whose sessions hold
// their attempts, must do. Its cases are the rules of creating, reading,
// listing and stopping executions, and the lease rules: an execution is
// never run by two attempts at once, never lost when a worker dies, and
// never charged a package retry for a worker's death.
//
// A store runs it from a test of its own:
//
//	func TestConformance(t *testing.T) {
//		exectest.Run(t, func(t *testing.T) exectest.Harness { ... })
//	}
//
// The DynamoDB store (package execstore with package registry's store)
// runs it against DynamoDB Local, the in-memory one (package execmem) in
// memory: the same cases, so that a test on the in-memory store tells what
// the DynamoDB one does. The cases share a store's tables with each other
// and with other tests: each uses fresh ids, and names (folders,
// projects, pools) of its own.
package exectest
