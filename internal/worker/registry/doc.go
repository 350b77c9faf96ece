// Package registry is the Scale Out Manager's registry of workers: who they
// are, what they serve, whether an administrator lets them take work and
// whether they are alive. Each worker's item also holds its session: the
// lease every execution the worker runs is held under. It also measures a
// machine's spare capacity (CPU and memory) for a worker that must not take
// work on a busy machine.
//
// A worker (package worker) registers when it starts, which opens a session,
// and renews the session every lease/2 with the runs it holds; it reads its
// signals (enabled, stop requests) between renewals with one small
// eventually consistent read. The HTTP API lists and describes workers,
// enables and disables them, edits their display name, description and
// tags, and removes them.
//
// The registry's types and their rules (registration, changes, sessions)
// are package registrytype's, shared with the in-memory registry (package
// execmem); this package stores them in DynamoDB. Both pass package
// registrytest's conformance suite.
//
// # Item layout (catalog table)
//
// One item per worker, spread over Shards partitions (List queries each):
//
//	pk             "REGISTRY#<shard>" (FNV-1a of the id modulo Shards)
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
//	session        S     the current session's id
//	lease_until    N     unix ms: the session's lease
//	runs           M     execution id -> attempt: what the session runs, as
//	                     of its last renewal
//	stops          SS    stop requests for the session's executions (the
//	                     API adds, the worker's renewal removes)
//	running        N     len(runs), for the manager
//	registered_at  N     unix ms of the first registration
//	last_heartbeat N     unix ms of the last registration or renewal
//	signed_off     N     unix ms of a clean stop
//	expires_at     N     unix s, DynamoDB TTL: last_heartbeat + Retention
//
// # Rules
//
//   - Register creates the item or, for a known id, overwrites only the
//     self-described fields, and opens a new session. Enabled, display
//     name, description and tags set by an administrator survive a restart.
//     A previous session of the id whose lease still runs refuses it
//     (ErrSessionLive: two processes with one id would fence each other
//     out); one whose lease ran out without a sign-off hands its runs to
//     the caller to recover.
//   - Renew is conditional on the session being the item's and its lease
//     not having run out: a session never comes back (ErrSessionLost), and
//     a removed worker's renewal fails with scaleouttype.ErrNotFound.
//   - A worker is online while its session's lease runs and it did not sign
//     off.
//   - A worker whose last renewal is older than Retention (default 7 days)
//     expires: DynamoDB's TTL deletes the item (within a day or two), and
//     until then Get, List, SetEnabled, Update and Remove treat it as gone.
//   - SetEnabled, Update and Remove are conditional on the worker existing
//     (scaleouttype.ErrNotFound otherwise); Remove also refuses a worker whose live
//     session runs executions (ErrBusy); Update validates lengths
//     (ErrInvalid).
package registry
