// Package aggregate turns changes of executions, as the executions table's
// DynamoDB stream reports them (INSERT, MODIFY, REMOVE, new and old
// images), into catalog status: executions by status per package, project,
// folder, pool and worker and in all (running now is n_running there),
// durations of finished executions, hourly and daily buckets of what ended,
// and the last execution and last failure per package.
//
// Plan is plain Go: it reads a batch and returns one Update per aggregate
// item the batch touches. Store.Apply writes an Update with one UpdateItem;
// Handler is what the stream Lambda (and the local stream poller) calls.
// Store's read side (Counts, Stats, Pools, Workers, Dashboard) serves the
// HTTP routes.
//
// # Items (catalog table, pk / sk; scope is "" in production)
//
//	<scope>STATS#<folder>  PKG#<project>/<package>  package: counts, durations, last_*, last_fail_*
//	<scope>STATS#<folder>  PROJECT#<project>        project: counts, durations
//	<scope>STATS#<folder>  FOLDER                   folder:  counts, durations
//	<scope>STATS           ALL                      all:     counts (n_running = running now), durations
//	<scope>POOLS           POOL#<pool>              pool:    counts, durations
//	<scope>WORKERS         WORKER#<worker_id>       worker:  counts, durations
//	<scope>HOUR#<2006-01-02T15>  PKG#<folder>/<project>/<package>  ended in the hour: counts by final status, durations, last_fail_*; TTL
//	<scope>DAY#<2006-01-02>      PKG#<folder>/<project>/<package>  ended in the day: same; TTL
//
// Attributes: n_<status> (counts), d_count, d_sum, d_min, d_max and
// h_<bucket> (the duration sketch, see Durations), tx_<unix hour> (a binary
// set of applied transition ids), expires_at (buckets: bucket end plus the
// retention), and the names (folder, project, package, pool, worker_id).
// Counts follow the stored executions (a REMOVE takes its count away);
// durations and buckets are history, counted once when an execution enters
// a final status and never taken away.
//
// # Exactly once under at-least-once delivery
//
// A transition is identified by the execution id and the stream record's
// sequence number, hashed to 8 bytes: the same on every delivery of that
// record, however Lambda splits or retries the batch. Each aggregate item
// keeps the ids of the transitions applied to it in sets per hour of the
// record (tx_<hour>), and the write of a batch to an item is one UpdateItem
// that is conditional on none of the batch's ids for that item being in its
// set, and that, in the same atomic write, ADDs the deltas and the ids.
// When the condition fails (part of the batch was applied by an earlier
// delivery), the item as it is comes back with the failure
// (ReturnValuesOnConditionCheckFailure ALL_OLD): the ids it has are left out
// and the rest is written. Each item is thus idempotent on its own, so a
// partial failure needs no rollback: the handler reports the first record
// of the first item that failed, Lambda retries that tail, and the items
// already written skip it. Sets older than the dedup window (default 25 h:
// the stream's 24 h retention plus margin) are removed by the same writes.
//
// Why this rather than a dedup record per transition: it keeps the write
// count at one UpdateItem per item touched (a batch of 100 mixed records
// touches about 45 items), where markers would add one write per record and
// a transaction (2x the write units) to keep them atomic with the counts.
// Its cost is item size: an item holds about 9 bytes per transition in the
// window, and DynamoDB bills an update by the item's size and caps an item
// at 400 KB, so one item can take roughly 40,000 transitions per window
// (about 0.45 per second sustained with the 25 h window, 11 per second with
// a 1 h one; the hot items are ALL, POOLS and big folders). Shorten the
// window with WithDedupWindow together with the event source mapping's
// MaximumRecordAgeInSeconds for higher rates.
//
// Writes per batch: one UpdateItem per item touched, plus, only on a
// conditional failure, a second one: when a delivery overlaps one already
// applied, or when the store has not yet seen an item's d_min/d_max (those
// move only outwards, so a write sets them, conditionally, only when the
// batch may extend them; a warm store writes them rarely). An item touched
// by more than 140 transitions in one batch takes one write per 140 (the
// 4 KB limit on a condition expression).
//
// Durations are ended_at - started_at in ms. The sketch is a log histogram
// with gamma 1.04, mergeable by adding bucket counters: P50 and P95 are
// within SketchRelativeError (1.96 %) of a duration of the right rank, plus
// rounding to the ms. Count, sum, min and max are exact.
//
// Last execution and last failure are the last ones the stream brought to
// an item; two shards writing the same package at once may leave the one
// processed last rather than the one that happened last.
package aggregate
