package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/scaleout/scaleout/internal/wait"
)

// SenderConfig configures a Sender.
type SenderConfig struct {
	// Notifier sends one delivery (see Notify); it should try once and
	// leave the retries to the queue.
	Notifier *Notifier
	// SQS and QueueURL let a failed delivery wait before it is tried again
	// (ChangeMessageVisibility on the webhook queue).
	SQS      *sqs.Client
	QueueURL string
	// RetryBase is the wait after the first failed try, doubling after
	// each, at most RetryMax (resources.WebhookRetryBase and
	// WebhookRetryMax).
	RetryBase, RetryMax time.Duration
	// MaxReceives is the queue's maxReceiveCount: a delivery that fails on
	// its last receive goes to the dead-letter queue.
	MaxReceives int
	Logger      *slog.Logger
}

// Sender delivers the webhooks of the webhook queue. Its Handle takes a
// batch of messages as Lambda's SQS event source hands it over (and the
// local poller in `scaleout dev` does the same) and reports the messages
// it could not deliver as batch item failures: SQS hands those over again
// once their visibility ends, which Handle sets to the backoff of their
// receive count, and moves them to the dead-letter queue after
// MaxReceives. A delivery the receiver refuses for good (a 4xx but 408
// and 429) is recorded and dropped.
type Sender struct{ c SenderConfig }

// NewSender returns a sender; it fails without a notifier, an SQS client
// or a queue URL.
func NewSender(c SenderConfig) (*Sender, error) {
	var errs []error
	if c.Notifier == nil {
		errs = append(errs, errors.New("notify: the webhook sender has no notifier"))
	}
	if c.SQS == nil {
		errs = append(errs, errors.New("notify: the webhook sender has no SQS client"))
	}
	if c.QueueURL == "" {
		errs = append(errs, errors.New("notify: the webhook sender has no queue URL (SCALEOUT_WEBHOOK_QUEUE_URL)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 30 * time.Second
	}
	if c.RetryMax < c.RetryBase {
		c.RetryMax = max(c.RetryBase, time.Hour)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{c: c}, nil
}

// maxVisibility is SQS's longest visibility timeout.
const maxVisibility = 12 * time.Hour

// Backoff is the wait before a delivery received receives times is tried
// again: RetryBase doubled receives-1 times, at most RetryMax.
func (s *Sender) Backoff(receives int) time.Duration {
	return min(wait.Backoff(s.c.RetryBase, s.c.RetryMax, receives), maxVisibility)
}

// Handle delivers a batch of webhook queue messages, all at once.
func (s *Sender) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		resp events.SQSEventResponse
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	for _, m := range ev.Records {
		wg.Go(func() {
			if !s.deliver(ctx, m) {
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp, nil
}

// deliver sends one message's webhook; false: try it again later.
func (s *Sender) deliver(ctx context.Context, m events.SQSMessage) bool {
	receives, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	receives = max(receives, 1)
	log := s.c.Logger.With("message_id", m.MessageId, "attempt", receives)
	var ev Event
	err := json.Unmarshal([]byte(m.Body), &ev)
	if err == nil && ev.ExecutionID == "" {
		err = errors.New("no execution_id")
	}
	if err == nil {
		log = log.With("execution_id", ev.ExecutionID)
		err = s.c.Notifier.Notify(ctx, ev)
	} else {
		err = fmt.Errorf("not a webhook delivery: %w", err)
	}
	switch {
	case err == nil:
		return true
	case Permanent(err):
		log.WarnContext(ctx, "webhook refused for good; not tried again", "error", err)
		return true
	}
	wait := s.Backoff(receives)
	if receives >= s.c.MaxReceives && s.c.MaxReceives > 0 {
		// Visible again at once: the next receive moves it to the
		// dead-letter queue, without waiting a visibility timeout.
		wait = 0
		log.ErrorContext(ctx, "webhook not delivered after its last try: it goes to the dead-letter queue", "error", err)
	} else {
		log.WarnContext(ctx, "webhook not delivered; trying again later", "retry_in", wait.String(), "error", err)
	}
	if _, verr := s.c.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(s.c.QueueURL),
		ReceiptHandle:     aws.String(m.ReceiptHandle),
		VisibilityTimeout: int32(wait / time.Second),
	}); verr != nil {
		log.WarnContext(ctx, "webhook retry not delayed: the queue's visibility timeout applies", "error", verr)
	}
	return false
}
