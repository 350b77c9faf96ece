// Package aggregate turns changes of executions, as the executions table's
// DynamoDB stream reports them (INSERT, MODIFY, REMOVE, new and old
// images), into catalog status: executions by status per package, project,
// folder, pool and worker and in all (running now is n_running there),
// durations of finished executions, hourly and daily buckets of what ended,
// and the last execution and last failure per package.
//
// Plan is plain Go: it reads a batch and returns one Update per aggregate
// item the batch touches. Handler is what the stream Lambda (and the local
// stream poller) calls: it plans a batch and applies the Updates to a
// Writer. The read side, Reader (Counts, Stats, Pools, Workers,
// Dashboard), serves the HTTP routes.
//
// # Stores
//
// Two stores are both a Writer and a Reader. Store keeps the aggregates in
// the catalog table: Apply writes an Update with one conditional
// UpdateItem; reads are point reads (GetItem, BatchGetItem for the pools
// or workers named) and, for the dashboard, BucketShards one-item Queries
// per day, then a Query per hour of each of that day's partitions that
// holds anything, in parallel. Memory keeps the same items in memory,
// under one lock, for tests and for whatever runs without DynamoDB. The
// two share everything but the storage: the keys, the merge of an
// Update's contributions past the item's watermarks (Update.merge), what
// an item adds up to and how it reads (item), the dedup window, and the
// dashboard's window and fold. Package aggregatetest is the conformance
// suite both pass, Store on DynamoDB Local.
//
// # Items (catalog table, pk / sk; scope is "" in production)
//
//	<scope>STATS#<folder>/<project>/<package>  PKG      package: counts, durations, last_*, last_fail_*
//	<scope>STATS#<folder>/<project>            PROJECT  project: counts, durations
//	<scope>STATS#<folder>                      FOLDER   folder:  counts, durations
//	<scope>STATS                               ALL      all:     counts (n_running = running now), durations
//	<scope>STATS#POOL#<pool>                   POOL     pool:    counts, durations
//	<scope>STATS#WORKER#<worker_id>            WORKER   worker:  counts, durations
//	<scope>HOUR#<2006-01-02T15>#<shard>  PKG#<folder>/<project>/<package>  ended in the hour: counts by final status, durations, last_fail_*; TTL
//	<scope>DAY#<2006-01-02>#<shard>      PKG#<folder>/<project>/<package>  ended in the day: same; TTL
//
// <shard> is BucketShard of the package (two digits, 00 to BucketShards-1).
// Names have no '/' or '#', so no two keys collide (nor with the catalog's
// FOLDERS, FOLDER#, PROJECT# partitions).
//
// An installation that ran the earlier layout (packages and projects in
// their folder's STATS#<folder> partition, all pools in POOLS, all workers
// in WORKERS, one HOUR#<hour> and DAY#<day> partition each) keeps the ALL
// and folder items, whose keys did not change; the package, project, pool,
// worker and bucket items start again from zero (an execution pending or
// running at the switch takes its count away from the new item when it
// moves on, so those counts are off by the executions in flight then), and
// the old ones are no longer read (the buckets expire with their TTL).
//
// # Writes per partition key
//
// Every counter item has a partition of its own, so the items one batch
// touches never add up on one key: a counter key gets at most one write a
// batch. The buckets of an hour (a day) spread over BucketShards
// partitions by package, so a bucket key gets one write a batch per
// package hashed to it that ended executions in the batch.
//
// The model: 10,000 executions started a second, 3 transitions each (30,000
// stream records a second), at least 30 stream shards read in order
// (ParallelizationFactor 1), batches of up to 100 records: at least 300
// batches a second, each ending about 33 executions. Worst case per key:
//
//	key                   before (shared partitions)                 now
//	STATS ALL             1 a batch: 300/s                           300/s (unchanged; every batch writes it)
//	a worker              WORKERS: ~100 workers a batch: 30,000/s    1 a batch, only batches with its work: ≤ 300/s
//	a pool                POOLS: the pools a batch touches × 300     ≤ 300/s
//	a folder's items      STATS#<folder>: its packages + projects    ≤ 300/s each (package, project, folder)
//	                      + 1 a batch: up to ~100 × 300 = 30,000/s
//	an hour's buckets     HOUR#<hour>: ~33 packages a batch:         HOUR#<hour>#<shard>: 10,000/s over 32 keys,
//	                      10,000/s                                   ~310/s each (≤ 300/s per package hashed there)
//	a day's buckets       DAY#<day>: same, 10,000/s                  same, ~310/s each
//
// PartitionWrites counts a planned batch's writes per partition key.
//
// Write units are another matter: DynamoDB bills a write by the item's
// size (1 KB units, the larger of before and after), and a partition takes
// about 1,000 units a second. An item written by every stream shard keeps
// a watermark per shard and hour for the dedup window: 30 shards × 25 hours
// measured 40 KB on ALL (on DynamoDB Local), so about 40 units a write. The
// stream function therefore keeps them for resources.StreamDedupWindow
// (2 h: Lambda delivers no record older than the mapping's maximum record
// age, 1 h), about a tenth of that; the local poller, which may resume a
// day later, keeps the default 25 h at its one shard. Splitting the items
// every batch writes (ALL, a busy pool or folder, a busy package's day
// bucket) by stream shard (a partition per hash of the shard, read back by
// adding them up) would cut their writes and units further. Not done yet.
//
// Attributes: n_<status> (counts), d_count, d_sum, d_min, d_max and
// h_<bucket> (the duration sketch, see Durations), w_<unix hour> (the
// watermarks: per shard, the last sequence number applied of the records
// of that hour), expires_at (buckets: bucket end plus the retention), and
// the names (folder, project, package, pool, worker_id).
// Counts follow the stored executions (a REMOVE takes its count away);
// durations and buckets are history, counted once when an execution enters
// a final status and never taken away.
//
// # Exactly once under at-least-once delivery
//
// Lambda reads a stream shard in order: a record is first handled after
// every earlier record of its shard, and what comes again (a retried tail,
// a bisected half, a redelivered batch) is a record handled before. So an
// item needs to remember, per shard, only how far it got: the write of a
// batch to an item is one UpdateItem that is conditional on the item's
// watermark for the batch's shard (and hour of the records) being below
// the batch's first record for it, and that, in the same atomic write, ADDs
// the deltas and moves the watermark to the batch's last record. When the
// condition fails (part of the batch was applied by an earlier delivery),
// the item as it is comes back with the failure
// (ReturnValuesOnConditionCheckFailure ALL_OLD): the records at or below
// its watermark are left out and the rest is written. Each item is thus
// idempotent on its own, so a partial failure needs no rollback: the
// handler reports the first record of the first item that failed, Lambda
// retries that tail, and the items already written skip it. Watermark maps
// older than the dedup window (default 25 h: the stream's 24 h retention
// plus margin) are removed by the same writes.
//
// The shard comes with the event: Lambda names it (shardId) when the event
// source mapping has a tumbling window, which the stack sets (15 minutes;
// the window's state is not used) and the local poller always does; an
// event without it is refused. The mapping's ParallelizationFactor must
// stay 1, or a shard's records would not arrive in order.
//
// Why this: one UpdateItem per item touched (a batch of 100 mixed records
// touches about 45 items), and an item whose dedup state does not grow
// with its traffic: a few bytes per shard and hour, where one id per
// transition (an earlier design) made the hot items (ALL, POOLS, big
// folders) grow by 9 bytes a transition, towards DynamoDB's 400 KB item
// limit within minutes at 100 executions a second, each update billed by
// the item's size (the watermarks are not free either: see Writes per
// partition key). A watermark map is created by the first write of its
// hour to the item (attribute_not_exists), then updated in place.
//
// Writes per batch: one UpdateItem per item touched, plus, only on a
// conditional failure, a second one: when a delivery overlaps one already
// applied, when the store has not yet seen an item's d_min/d_max (those
// move only outwards, so a write sets them, conditionally, only when the
// batch may extend them; a warm store writes them rarely), or when the
// store does not know the hour's watermark map to be there yet.
//
// Durations are ended_at - started_at in ms. The sketch is a log histogram
// with gamma 1.04, mergeable by adding bucket counters: P50 and P95 are
// within SketchRelativeError (1.96 %) of a duration of the right rank, plus
// rounding to the ms. Count, sum, min and max are exact.
//
// Last execution and last failure are the latest by the time of the
// change, then by stream sequence number: a write sets them only when they
// are later than what the item has (last_order, last_fail_order, in the
// condition; a write that loses retries without them), so two shards
// writing the same package in any order leave the latest.
package aggregate
