// Package queue carries execution ids from the API to the workers over SQS.
// A message holds only the execution id and its pool: the executions table
// is the truth, the message is a wake-up call. A worker keeps a message
// invisible while it runs the execution and deletes it when the execution
// reached a final state.
package queue
