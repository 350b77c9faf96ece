// Package execmem keeps executions and the worker registry in memory: the
// in-memory adapter of the ports package execstore (executions, DynamoDB)
// and package registry (workers and their sessions, DynamoDB) serve
// together. It is for unit tests of the API, the worker and the
// reconciler, and for anything else that wants the lease rules without
// AWS.
//
// The two live in one package because their writes are one: a claim,
// a stop, a takeover, a reap or a recovery reads or writes a worker's
// session in the same step as the execution (in DynamoDB, a transaction
// over both tables). Here both sit behind one mutex, so every operation is
// atomic, and the conditions DynamoDB checks are checked under it: the
// status part from the status table (execution.Transitions), the lease
// fences (worker, session, attempt) from the caller's lease.
//
// New returns a Store (worker.Store, api.Store, reconcile.Store) and its
// Registry (worker.Registry, api.Workers). Both follow the same conformance
// suites as the DynamoDB adapters, packages exectest and registrytest,
// whose cases are the rules: where the DynamoDB adapter has a behaviour,
// this one has it too. What an execution looks like when read back is as
// a DynamoDB round trip leaves it: times to the millisecond in UTC,
// parameter numbers as json.Number, empty lists and maps as nil, a
// listing without definitions and task summaries, ByStatus with only the
// attributes its index projects.
//
// The clock of the registry (heartbeats, leases, expiry) is New's; the
// execution store takes the time of each call as its DynamoDB counterpart
// does.
package execmem
