// Package queue carries execution ids from the API to the workers over SQS.
// A message holds only the execution id and its pool: the executions table
// is the truth, the message is a wake-up call. A worker keeps a message
// only until the execution is safe without it: until its session's next
// renewal records the run (a dead worker's runs are then found from its
// session), or until the execution ends, whichever comes first; so no
// message stays in flight for a whole run, however long.
//
// The same queue carries each worker session's watchdog: a message that
// comes back about when the session's lease would run out, so that a
// worker of the pool checks the session then and recovers what a dead one
// held.
package queue
