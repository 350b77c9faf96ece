// Package checkpointtest is the conformance suite of the stream poller's
// checkpoints (streampoll.Checkpoints): Run runs the same cases against
// the DynamoDB adapter on the stand-in and against the in-memory one, so a
// test that uses MemoryCheckpoints relies only on what DynamoCheckpoints
// does. Each case uses stream ARNs of its own, so the adapters under test
// may share their storage.
package checkpointtest
