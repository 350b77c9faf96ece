// Package execstore keeps executions in the DynamoDB executions table.
//
// Every state change is a conditional write: creating needs a fresh id,
// claiming needs a pending execution, and every write by a worker after its
// claim (heartbeat, finish) needs the lease that claim took: the same worker
// and the same attempt. A worker that lost its lease can never overwrite a
// newer attempt or a final state. Failed conditions come back as the domain
// errors of package execution, with the stored item attached.
package execstore
