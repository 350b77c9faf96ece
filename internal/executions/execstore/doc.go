// Package execstore keeps executions in the DynamoDB executions table.
//
// Every state change is a conditional write: creating needs a fresh id,
// claiming needs a pending execution past its retry backoff, or a running
// one whose worker session is dead (a takeover: one transaction, the
// execution's write fenced on the lost attempt's status, worker, session
// and attempt, with a condition check that the session did not renew since
// it was read dead), and every write by a worker after its claim (finish,
// retry, release) needs the lease that claim took: the same worker, session
// and attempt. Nothing is written while an execution runs: the worker's
// session (package workers, in the catalog table) holds the lease. A worker
// that lost its session can never overwrite a newer attempt or a final
// state, and two attempts never hold an execution at once. Stop adds the
// execution to its session's stop requests in the same transaction as
// running -> stopping. Failed conditions come back as the domain errors of
// package execution, with the stored item attached. The rules are package
// exectest's conformance suite, which this store runs (as does package
// execmem, the same in memory).
//
// The status part of every such condition comes from the status table,
// execution.Transitions: each write names its operation and the status it
// writes (statusCondition renders the row's From statuses, setStatus the
// assignment), and the fences above are ANDed to it. TestTransitionConformance
// runs every row against every stored status.
//
// The table's indexes (package resources) are sharded and kept lean. Create
// writes an execution's package, folder and day keys, each with the shard
// of its id; they never change, and the KEYS_ONLY indexes on them are
// written once per execution. The by_status key (status_key, "active#<shard>")
// is present only while the execution is not final: every write that changes a status calls
// withStatusKey, which sets or removes it in the same UpdateItem. List
// queries the shards of the most selective index, merges them newest first
// by created_key, reads the page's executions from the table with
// BatchGetItem (without the definition and the task summaries) and applies
// the filters the index cannot; its cursor is the created_key of the last
// execution it looked at. A listing by day visits only the days that have
// executions: a store writes a day's marker in the catalog before the first
// execution it creates that day (days.go). ByStatus, for the reconciler, merges the shards
// oldest first, keeps one status and returns what by_status projects.
package execstore
