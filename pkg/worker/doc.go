// Package worker is the Scale Out Worker: it long-polls its pool's queue,
// claims each execution with a conditional write that starts a new attempt
// under a lease, runs it, keeps the lease and the message's visibility alive
// while it runs, records the final status under the same lease and only
// then deletes the message.
//
// When things go wrong:
//   - A lost worker (killed, machine gone) stops heartbeating; once its lease
//     expires, the next worker that receives the message takes the attempt
//     over in its claim (fenced on the lost attempt): it runs the next
//     attempt if the execution's retries allow, else the execution ends
//     ended_unexpectedly (canceled if it was being stopped).
//   - A package that fails while retries are left goes back to pending with
//     its attempt recorded as failed; its message is made visible again
//     after a backoff (ChangeMessageVisibility on the message the worker
//     holds) and the claim refuses it before then (not_before). Only the
//     last attempt's failure fails the execution.
//   - On stop, the worker takes no new work and lets running executions
//     finish for the grace period; what still runs then is canceled and
//     released: pending again, its message visible at once, its attempt
//     recorded as released, which does not count against the retries.
//
// Executions whose message is gone (lost, dead-lettered, never sent) are
// the reconciler's (package reconcile).
//
// The worker declares the ports it needs (Store, Queue, Runner); package
// execstore and package queue are their DynamoDB and SQS adapters.
package worker
