// Package aggregate turns changes of executions, as the executions table's
// DynamoDB stream reports them, into catalog status: how many executions of
// each package are in each status.
//
// Fold is plain Go: it reads a batch of stream records and returns one
// count delta per package, so a batch costs one write per package touched,
// not one per record. Handler applies the deltas to the catalog table and is
// what the stream Lambda (and the local stream poller) calls.
package aggregate
