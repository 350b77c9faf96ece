package resources

import "time"

// How webhooks are delivered: off the stream's path. The stream function
// only enqueues one message per delivery on the webhook queue; the webhook
// sender (its own function on AWS, a local poller in `scaleout dev`)
// receives up to WebhookBatchSize at once and sends them. A delivery that
// fails is received again after a backoff (the sender sets the message's
// visibility: WebhookRetryBase, doubling, at most WebhookRetryMax), and
// after WebhookMaxReceives receives it moves to the dead-letter queue.
const (
	// WebhookBatchSize is the most messages one sender invocation gets.
	WebhookBatchSize = 10
	// WebhookSenderTimeout bounds one sender invocation: each request
	// is bounded by WebhookRequestTimeout and a batch's requests are sent
	// in parallel.
	WebhookSenderTimeout = 30 * time.Second
	// WebhookRequestTimeout bounds one webhook request.
	WebhookRequestTimeout = 10 * time.Second
	// WebhookConcurrency is how many sender invocations run at once: a
	// slow receiver holds at most this many, never the stream function.
	WebhookConcurrency = 5
	// WebhookRetryBase and WebhookRetryMax bound the wait before a failed
	// delivery is tried again: 30 s, 1, 2, 4, ... minutes, at most an hour
	// (about 4 hours of tries in all before the dead-letter queue).
	WebhookRetryBase = 30 * time.Second
	WebhookRetryMax  = time.Hour
	// WebhookMaxReceives is how many times a delivery is tried.
	WebhookMaxReceives = 10
)

// WebhookQueue is the webhook queue of the installation named by prefix,
// "<prefix>-webhooks", with its dead-letter queue. Its visibility timeout
// is six times the sender's timeout, as Lambda asks of an SQS event
// source, so that a message is not received again while an invocation
// that holds it may still run.
func WebhookQueue(prefix string) Queue {
	name := prefix + "-webhooks"
	return Queue{
		Name:              name,
		VisibilityTimeout: 6 * WebhookSenderTimeout,
		ReceiveWait:       20 * time.Second,
		Retention:         4 * 24 * time.Hour,
		MaxReceiveCount:   WebhookMaxReceives,
		DeadLetter: &Queue{
			Name:      name + "-dlq",
			Retention: 14 * 24 * time.Hour,
		},
	}
}

// Queues lists the set's queues: each pool's, then the webhook queue
// (dead-letter queues are in their DeadLetter).
func (s Set) Queues() []Queue {
	var out []Queue
	for _, q := range s.Pools {
		out = append(out, q)
	}
	return append(out, s.Webhooks)
}
