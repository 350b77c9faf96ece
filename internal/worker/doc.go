// Package worker is the Scale Out Worker: it long-polls its pool's queue,
// claims each execution with a conditional write that starts a new attempt
// under its session, runs it, and records the final status under the same
// session and attempt.
//
// A worker process holds one session (package workers): a lease in its
// registry item, renewed every Lease/2 with the list of runs it holds.
// Nothing is written to an execution while it runs, however long. A
// message is held only until the session's next renewal records the run,
// then deleted (ten a request); the session, not the message, finds the run
// should the worker die. Every StopCheck the worker reads its signals (stop
// requests, enabled): one small eventually consistent read a worker.
//
// When things go wrong:
//   - A lost worker (killed, machine gone) stops renewing; each session has
//     a watchdog message in the pool's queue that comes back when its lease
//     would run out, and the worker that receives it then recovers the runs
//     the dead session recorded: pending again and enqueued, or ended when
//     the execution's lost-attempt budget (lost_retries) is spent. A run the
//     session had not yet recorded still has its message, which comes back
//     after one lease: the worker that receives it takes the attempt over in
//     its claim. Both are fenced on the lost attempt and on the session
//     staying dead. A worker that cannot renew its session stops its runs
//     just before the lease runs out, so two attempts never overlap.
//   - A package that fails while retries are left goes back to pending with
//     its attempt recorded as failed, enqueued again after a backoff, and
//     the claim refuses it before then (not_before). Only the last
//     attempt's failure fails the execution.
//   - On stop, the worker takes no new work and lets running executions
//     finish for the grace period; what still runs then is canceled and
//     released: pending again, enqueued at once, its attempt recorded as
//     released, which counts against no budget. Then it signs its session
//     off.
//
// Executions whose message is gone (lost, dead-lettered, never sent), and
// attempts no session records, are the reconciler's (package reconcile).
//
// The worker declares the ports it needs (Store, Queue, Registry, Runner);
// packages execstore, queue and registry are their DynamoDB and SQS adapters,
// package execmem the in-memory Store and Registry, and packages exectest
// and registrytest state the rules every Store and Registry keeps.
package worker
