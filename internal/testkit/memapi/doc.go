// Package memapi builds the HTTP API (package api) on the in-memory
// adapters of its ports, for the tests of the API and of what sits in
// front of it (the console proxy): execmem for executions and the worker
// registry, catalogmem under the catalog, messages.Memory,
// taskqueue.Memory for each pool's queue and aggregate.Memory for the
// figures the stream keeps. Each adapter passes the same conformance suite
// as its DynamoDB or SQS counterpart, so a test on them needs no stand-ins,
// and each call makes adapters of its own, so such tests run in parallel.
package memapi
