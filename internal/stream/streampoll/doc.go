// Package streampoll reads the DynamoDB stream of a table and hands its records to the same handler
// that runs in the stream Lambda (functions/stream) on AWS, so that local mode, without Lambda,
// behaves as Lambda's event source mapping does.
//
// On AWS the event source mapping polls the executions table's NEW_AND_OLD_IMAGES stream and
// invokes the function with an events.DynamoDBTimeWindowEvent (a tumbling window makes it name the shard);
// locally a Poller does the same:
//
//   - it discovers the stream's shards with DescribeStream, re-describes to find new ones, and reads
//     a child shard only after its parent is finished;
//   - it calls the Handler with up to Config.BatchSize records of one shard, in order;
//   - a handler error retries the whole batch with backoff; BatchItemFailures (ReportBatchItemFailures)
//     checkpoint the records before the first failed one and retry from it;
//   - after Config.MaxRetries retries the failed records are logged with their sequence numbers and
//     skipped, like MaximumRetryAttempts;
//   - it checkpoints the last handled sequence number of each shard (DynamoCheckpoints keeps them in
//     a DynamoDB table; MemoryCheckpoints in memory, for tests), so that a restarted poller resumes
//     where it stopped. Both pass the conformance suite in streampoll/checkpointtest.
//
// Delivery is at least once, as with Lambda: a batch handled while the poller stops before its
// checkpoint is written is delivered again. ToEvent is the record conversion on its own.
package streampoll
