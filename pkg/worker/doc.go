// Package worker is the Scale Out Worker: it long-polls its pool's queue,
// claims each execution with a conditional write that starts a new attempt
// under a lease, runs it, keeps the lease and the message's visibility alive
// while it runs, records the final status under the same lease and only
// then deletes the message.
//
// The worker declares the ports it needs (Store, Queue, Runner); package
// execstore and package queue are their DynamoDB and SQS adapters.
package worker
