// Package reconcile finds executions that nothing would move on and moves
// them on: pending ones whose message was lost, dead-lettered or never sent
// (the API died between recording and enqueuing) are enqueued again, and
// running or stopping ones whose worker was lost long ago, with no worker
// taking them over (their message is gone too), get the lost-attempt rule
// (execution.Lost): back to pending and enqueued again if their retries
// allow, else ended.
//
// One Pass does one round; `scaleout dev` runs one every 30 s and, on AWS,
// functions/reconciler runs one per EventBridge schedule tick. It finds its
// executions through the executions table's by_status index, never a scan,
// and every write is conditional on what it read, so two reconcilers, or a
// reconciler and a worker, never both act on one execution. A message sent
// twice is harmless: a worker's claim of a final execution deletes the
// message, of a held one defers it.
package reconcile
