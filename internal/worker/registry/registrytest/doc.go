// Package registrytest is the conformance suite of the worker registry:
// what every registry of workers and their sessions must do (registering,
// renewing, signals, signing off, the administrator's edits, online and
// retention). A registry runs it from a test of its own:
//
//	func TestConformance(t *testing.T) {
//		registrytest.Run(t, func(t *testing.T, o registrytest.Options) registrytest.Harness { ... })
//	}
//
// The DynamoDB registry (package registry's Store) runs it against
// DynamoDB Local, the in-memory one (package execmem's Registry) in memory.
// How sessions fence executions is package exectest's, which runs a
// registry with its execution store.
package registrytest
