// Package queuetest is the conformance suite of the work queue's port
// (taskqueue.Queue): Run runs the same cases against any adapter, so that
// the in-memory queue (taskqueue.Memory) the unit tests use is held to what
// the SQS adapter does on the stand-in. It checks delays, visibility
// timeouts and redelivery, Extend, Release, Delete and DeleteAll, the depth
// figures, the batch limit, and a long poll that returns when a message
// arrives, returns empty after its wait, and honours its context.
//
// Durations are whole seconds, as SQS counts them, and the bounds are
// loose (a shared machine is slow at times) but each case can fail: a
// message that comes back too early or not at all, or a poll that waits
// for its whole wait when a message arrives, fails it.
package queuetest
