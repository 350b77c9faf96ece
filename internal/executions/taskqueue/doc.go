// Package taskqueue is the work queue's port in domain terms: the Task a
// message carries (an execution to run, or a worker session to watch), the
// Message a receiver gets, and Queue, the operations the API, the worker
// and the reconciler use. It knows nothing of AWS: the SQS adapter
// (internal/aws/queue) and Memory, an in-memory queue with SQS's semantics
// for unit tests, both implement Queue, and the conformance suite in
// taskqueue/queuetest runs the same cases against each.
//
// A message holds only the execution id and its pool: the executions table
// is the truth, the message is a wake-up call. A worker keeps a message
// only until the execution is safe without it, so no message stays in
// flight for a whole run. The same queue carries each worker session's
// watchdog: a message that comes back about when the session's lease would
// run out, so that a worker of the pool checks the session then and
// recovers what a dead one held.
//
// Delivery is at least once. A received message is invisible to other
// receivers for its visibility timeout; unless it is deleted in that time
// it is delivered again, its ReceiveCount one higher.
package taskqueue
