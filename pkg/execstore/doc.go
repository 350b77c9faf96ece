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
package execstore
