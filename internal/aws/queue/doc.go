// Package queue is the work queue (taskqueue.Queue) on SQS: one queue per
// pool, a message's body the task as JSON, Receive a long poll that asks
// for each message's receive count and sent time, DeleteAll ten messages a
// request. What a message means, and what a worker does with it, is said
// in package taskqueue.
package queue
