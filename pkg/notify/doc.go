// Package notify tells schedulers that an execution ended, in two ways.
//
// # EventBridge
//
// With SCALEOUT_EVENT_BUS set, the stream function puts an event on that
// EventBridge bus (Bus) for every execution that reaches a final status:
// source "scaleout", detail-type "Execution Ended", the detail a BusDetail
// (execution, folder, project, package, pool, status, attempt, error,
// started_at, ended_at, duration_ms and a stable event_id). Events are at
// least once: an event the bus refuses after its retries fails the stream
// batch from its record on, so Lambda delivers that tail again; consumers
// drop repeats by event_id. A rule selects them with
//
//	{"source": ["scaleout"], "detail-type": ["Execution Ended"], "detail": {"status": ["failed"]}}
//
// # Webhooks
//
// When the submission gave a callback_url, the stream function POSTs a
// signed JSON payload (Payload) to it once the execution reaches a final
// status.
//
// Signing: the body is signed with HMAC-SHA256 over "<timestamp>.<body>"
// with SCALEOUT_WEBHOOK_SECRET. The request carries
//
//	X-Scaleout-Timestamp: unix seconds of this send
//	X-Scaleout-Signature: v1=<hex of the HMAC>
//	X-Scaleout-Delivery:  an id stable for the execution (same on every send)
//	X-Scaleout-Redelivery: true (only on a send that may repeat an earlier one)
//
// Receivers check a request with Verify.
//
// Exactly-once intent: before sending, the notifier records the delivery in
// the catalog table (pk "NOTIFY#<execution_id>", sk "WEBHOOK") with a
// conditional put. Only the record's creator sends a first delivery; a later
// attempt for the same execution (the stream delivering a record again)
// sends again, marked as a redelivery, only if the record is not marked
// delivered, and skips it otherwise. So a receiver sees at most one send
// without the redelivery mark per execution, and deduplicates by
// X-Scaleout-Delivery.
//
// Targets: webhooks go to public addresses only, checked on the address
// dialed (after DNS, on every redirect): loopback, private, link-local
// (instance metadata), CGNAT and reserved ranges are refused, so a callback
// URL cannot make the stream function reach into its own network.
// SCALEOUT_WEBHOOK_ALLOW_PRIVATE=true lifts that (`scaleout dev` sets it).
//
// Failure rule: a send is retried with backoff (Config.Tries, doubling from
// Config.Backoff, each request bounded by Config.Timeout) on a network
// error, a 5xx, 408 or 429; any other status is final. When it still fails,
// the record stays undelivered and the failure is logged: a receiver that is
// down never fails or holds back the stream batch (the aggregates are what
// the batch is for). A redelivery of the stream record tries again.
package notify
