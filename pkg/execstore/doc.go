// Package execstore keeps executions in the DynamoDB executions table.
//
// Every state change is a conditional write: creating needs a fresh id,
// claiming needs a pending execution past its retry backoff, or a running
// one whose lease expired (a takeover, fenced on the lost attempt's status,
// worker, attempt and lease), and every write by a worker after its claim
// (heartbeat, finish, retry, release) needs the lease that claim took: the
// same worker and the same attempt. A worker that lost its lease can never
// overwrite a newer attempt or a final state, and two attempts never hold
// an execution at once. Failed conditions come back as the domain errors of
// package execution, with the stored item attached.
//
// The table's indexes (package resources) are sharded and kept lean. Create
// writes an execution's package, folder and day keys, each with the shard
// of its id; they never change, and the KEYS_ONLY indexes on them are
// written once per execution. The by_status key (status_key) is present only
// while the execution is not final: every write that changes a status calls
// withStatusKey, which sets or removes it in the same UpdateItem. List
// queries the shards of the most selective index, merges them newest first
// by created_key, reads the page's executions from the table with
// BatchGetItem (without the definition and the task summaries) and applies
// the filters the index cannot; its cursor is the created_key of the last
// execution it looked at. ByStatus, for the reconciler, merges the shards of
// one status oldest first and returns what by_status projects.
package execstore
