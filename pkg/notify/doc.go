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
// When the submission gave a callback_url, a signed JSON payload (Payload)
// is POSTed to it once the execution reaches a final status. The stream
// function does not send it: it puts one message per delivery on the
// webhook queue (Queue, in batch sends of up to ten), and the webhook
// sender (Sender: its own Lambda function behind an SQS event source on
// AWS, a local poller of the same queue in `scaleout dev`) delivers it. A
// slow or failing receiver so holds back neither the stream's aggregates
// nor its events. A queue message that cannot be put fails the stream
// batch from its record on, as an event does; webhooks are queued before
// events are put, so that such a retry puts no event twice.
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
// attempt for the same execution (a retry, or the stream queueing it again)
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
// Failure rule: the sender tries each delivery once per receive, each
// request bounded by Config.Timeout. A network error, a 5xx, 408 or 429
// reports the message as a batch item failure and sets its visibility to
// the backoff of its receive count (SenderConfig.RetryBase, doubling, at
// most RetryMax), so SQS hands it over again then; after the queue's
// maxReceiveCount it moves to the dead-letter queue (the stack alarms on
// its depth). Any other status is final: the failure is recorded on the
// delivery record and logged, and the message is dropped.
package notify
