package resources

import "time"

// How the stream function receives the executions table's stream (the
// event source mapping infra/stack defines). make bench models its batches
// with the same values, so that its cost figures are the stack's.
const (
	// StreamBatchSize is the most records one invocation gets
	// (BatchSize).
	StreamBatchSize = 100
	// StreamBatchingWindow is how long records are gathered before an
	// invocation with fewer than StreamBatchSize (MaximumBatchingWindow);
	// 0: none, Lambda invokes as soon as a poll of the shard finds records.
	StreamBatchingWindow = 0 * time.Second
)

// FunctionMemoryMiB is the memory of each Lambda function of the stack (the
// API, stream and reconciler functions).
const FunctionMemoryMiB = 256
