// Package messagestest is the conformance suite of the messages port
// (messages.Log): Run runs the same cases against the DynamoDB store on
// the stand-in and against messages.Memory, so that unit tests of the API
// and the runner that use Memory rely only on what Store does: order by
// attempt and sequence number whatever the order of the writes, paging
// with cursors and its limits, long texts cut the same way, a batch
// written again listed once, and a Writer on the port. Each case uses
// execution ids of its own, so the stores under test may be shared.
package messagestest
