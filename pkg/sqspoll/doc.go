// Package sqspoll receives the messages of an SQS queue and hands them, in
// batches, to the same handler that runs behind Lambda's SQS event source
// on AWS, so that local mode (`scaleout dev`, on the SQS stand-in) takes
// the same code path as the stack's functions.
//
// It behaves as an event source mapping with ReportBatchItemFailures: a
// batch's messages are deleted after the handler returns, except those it
// reports in BatchItemFailures (by message id), which SQS hands over again
// once their visibility timeout ends (the handler may have changed it) and
// moves to the queue's dead-letter queue after maxReceiveCount. A handler
// error keeps the whole batch.
package sqspoll
