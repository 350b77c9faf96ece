// Package workers is the Scale Out Manager's registry of workers: who they
// are, what they serve, whether an administrator lets them take work and
// whether they are alive. It also measures a machine's spare capacity (CPU
// and memory) for a worker that must not take work on a busy machine.
//
// A worker (package worker) registers when it starts and heartbeats every
// few seconds with the number of executions it runs; the heartbeat answers
// whether the worker is still enabled. The HTTP API lists and describes
// workers, enables and disables them, edits their display name, description
// and tags, and removes them.
//
// # Item layout (catalog table)
//
// One item per worker, all in one partition so that List is one Query in
// id order:
//
//	pk             "WORKER"
//	sk             the worker id
//	display_name   S     admin field; the id until an admin sets one
//	description    S     admin field
//	tags           M     admin field (string values); a worker's own tags
//	                     apply only when it first registers
//	enabled        BOOL  admin field; true when a worker first registers
//	machine        S     self-described: host name
//	pools          L     self-described: pools served
//	max_tasks      N     self-described: executions it runs at once
//	version        S     self-described
//	running        N     executions running at the last heartbeat
//	registered_at  N     unix ms of the first registration
//	last_heartbeat N     unix ms of the last registration or heartbeat
//	expires_at     N     unix s, DynamoDB TTL: last_heartbeat + Retention
//
// One partition takes about 1,000 writes a second, so heartbeats every 5 s
// allow several thousand workers.
//
// # Rules
//
//   - Register creates the item or, for a known id, overwrites only the
//     self-described fields (machine, pools, max tasks, version), sets
//     running to 0 and the heartbeat to now. Enabled, display name,
//     description and tags set by an administrator survive a restart: a
//     disabled worker that restarts stays disabled.
//   - Heartbeat is conditional on the item existing: after Remove it fails
//     with ErrNotFound. A worker that sees ErrNotFound takes no new work
//     (its running executions finish) and does not register again on its
//     own; when its process starts again it registers as a new worker with
//     fresh admin fields.
//   - A worker is online while its last heartbeat is at most OfflineAfter
//     old (default 15 s, three 5 s heartbeats), judged by Store.Now.
//   - A worker whose last heartbeat is older than Retention (default 7
//     days) expires: DynamoDB's TTL deletes the item (within a day or two),
//     and until then Get, List, SetEnabled, Update and Remove treat it as
//     gone. A heartbeat on it (a process that was paused that long) brings
//     it back.
//   - SetEnabled, Update and Remove are conditional on the worker existing
//     (ErrNotFound otherwise); Update validates lengths (ErrInvalid).
package workers
