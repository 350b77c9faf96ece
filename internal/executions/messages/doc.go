// Package messages keeps an execution's event messages (package and task
// started and ended, output lines, warnings, errors), as the SSIS catalog's
// operation messages, in the catalog table under the execution's
// partition, ordered by attempt and sequence number, expiring by TTL.
// Consecutive messages of an attempt are packed into one item of up to
// MaxChunkBytes (a JSON array), keyed by the last one's sequence number, so
// that a flush costs one item write however many messages it carries; List
// unpacks them and pages by message, not by item.
//
// A Writer buffers messages and writes them to a Sink (Write) in batches
// from a background goroutine: every FlushEvery (default
// DefaultFlushEvery, one second; SCALEOUT_MESSAGE_FLUSH for a worker) while
// any are waiting, at once when a full item is, and on Close. A chatty
// package costs one item write per flush, not one per line, the engine
// never waits on DynamoDB to emit, and what a package printed survives its
// worker being killed once a flush interval has passed. A write that fails
// is kept, as the same batch (so the same items), and tried again at the
// next flush. Messages stay readable after the worker is gone.
//
// Log is the port (Write and List); Store keeps the messages in DynamoDB
// (BatchWriteItem, 25 items a call), Memory in memory for tests. Both cut
// a text longer than MaxMessageBytes the same way, and the conformance
// suite in messages/messagestest runs the same cases against each.
package messages
