package resources

import "time"

// How the stream function receives the executions table's stream (the
// event source mapping infra/stack defines). make bench models its batches
// with the same values, so that its cost figures are the stack's.
//
// The aggregate writes of a batch are about one per aggregate item it
// touches, whatever its size, so larger batches cost fewer writes per
// execution. Without a batching window Lambda invokes with what one poll of
// the shard (4 a second) found: at 100 executions/s, 75 records and 0.36
// write units per execution; at 1 execution/s, one record a batch and 19
// write units per execution, more than the execution itself. A 2 s window
// and batches of up to 1,000 cut that to 0.045 and 4.1 (make bench prints
// both), for up to 2 s more before the aggregates, the "Execution Ended"
// events and the webhooks see an execution's change.
const (
	// StreamBatchSize is the most records one invocation gets
	// (BatchSize; Lambda also stops a batch at a 6 MB payload).
	StreamBatchSize = 1000
	// StreamBatchingWindow is how long records are gathered before an
	// invocation with fewer than StreamBatchSize (MaximumBatchingWindow);
	// 0 would be none: Lambda invokes as soon as a poll of the shard finds
	// records.
	StreamBatchingWindow = 2 * time.Second
	// StreamMaxRecordAge is the oldest record Lambda delivers
	// (MaximumRecordAgeInSeconds): older ones, failed that long, go to the
	// on-failure queue. No record is redelivered later, so the stream
	// function keeps its aggregates' dedup watermarks for this plus an hour
	// (StreamDedupWindow), not the stream's whole 24 h: an item written by
	// every stream shard stays a few KB (a few write units a write) at
	// dozens of shards, not tens of KB.
	StreamMaxRecordAge = time.Hour
	// StreamDedupWindow is how long the stream function keeps an hour's
	// dedup watermarks on an aggregate item.
	StreamDedupWindow = StreamMaxRecordAge + time.Hour
)

// FunctionMemoryMiB is the memory of each Lambda function of the stack (the
// API, stream and reconciler functions).
const FunctionMemoryMiB = 256
