// Package catalogtest is the conformance suite of catalog.Storage
// adapters: Run runs the same cases (folders, deploys and versions,
// environments and sealing, references and bindings, resolution, and the
// races between them) against a catalog.Catalog on the adapter under test.
// Package catalog runs it on the DynamoDB adapter against the stand-ins,
// package catalogmem on the in-memory one; both must pass it alike, so a
// test of the API on the in-memory catalog says what the DynamoDB one does.
//
// Cases run in parallel and name their folders uniquely, so an adapter may
// share one table (or store) between them.
package catalogtest
