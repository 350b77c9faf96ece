// Package messages keeps an execution's event messages (package and task
// started and ended, output lines, warnings, errors), as the SSIS catalog's
// operation messages, in the catalog table: one item per message under the
// execution's partition, ordered by attempt and sequence number, expiring by
// TTL.
//
// A Writer buffers messages and writes them in batches (BatchWriteItem, 25
// items a call) from a background goroutine, so that a chatty package costs
// one write per batch, not one per line, and the engine never waits on
// DynamoDB to emit. Messages stay readable after the worker is gone.
package messages
