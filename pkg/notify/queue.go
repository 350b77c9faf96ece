package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/scaleout/scaleout/pkg/wait"
)

// SQS limits a batch send: ten entries, 256 KiB of bodies in all.
const (
	sendBatchMax   = 10
	sendBatchBytes = 256 << 10
	// maxQueuedError bounds the error text a queued delivery carries, so
	// that any delivery fits in a message with room to spare.
	maxQueuedError = 64 << 10
)

// Queue puts webhook deliveries on the webhook queue: the stream function
// enqueues, and the webhook sender (Sender) delivers, so that a slow or
// failing receiver never holds back the stream.
type Queue struct {
	client  *sqs.Client
	url     string
	tries   int
	backoff time.Duration
	log     *slog.Logger
}

// NewQueue returns the webhook queue at url.
func NewQueue(client *sqs.Client, url string, log *slog.Logger) (*Queue, error) {
	if client == nil {
		return nil, errors.New("notify: no SQS client")
	}
	if strings.TrimSpace(url) == "" {
		return nil, errors.New("notify: no webhook queue URL (SCALEOUT_WEBHOOK_QUEUE_URL)")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{client: client, url: url, tries: 3, backoff: 100 * time.Millisecond, log: log}, nil
}

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

// Enqueue puts one message per element of evs, in batch sends of up to ten
// messages and 256 KiB (SQS bills a send per 64 KiB it carries, so ten
// small deliveries cost one request). It returns how many of evs, from the
// start, are known to be on the queue: all of them and a nil error, or the
// index of the first one not put and the reason. Events after it may have
// been put too; putting them again makes a repeat that the sender drops
// (the delivery record says it was delivered) or marks as a redelivery.
func (q *Queue) Enqueue(ctx context.Context, evs []Event) (int, error) {
	bodies := make([]string, len(evs))
	for i, ev := range evs {
		if len(ev.Error) > maxQueuedError {
			ev.Error = ev.Error[:maxQueuedError] + "…"
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return i, fmt.Errorf("webhook of execution %s: encode: %w", ev.ExecutionID, err)
		}
		bodies[i] = string(b)
	}
	for start := 0; start < len(evs); {
		end, size := start, 0
		for end < len(evs) && end-start < sendBatchMax && (end == start || size+len(bodies[end]) <= sendBatchBytes) {
			size += len(bodies[end])
			end++
		}
		if i, err := q.sendBatch(ctx, evs[start:end], bodies[start:end]); err != nil {
			return start + i, err
		}
		start = end
	}
	return len(evs), nil
}

// sendBatch sends up to ten messages, sending again the entries SQS
// refused; it returns the index of the first one not sent.
func (q *Queue) sendBatch(ctx context.Context, evs []Event, bodies []string) (int, error) {
	pending := make([]int, len(evs))
	for i := range pending {
		pending[i] = i
	}
	pause := q.backoff
	var lastErr error
	for try := 1; ; try++ {
		entries := make([]types.SendMessageBatchRequestEntry, len(pending))
		for j, i := range pending {
			entries[j] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(bodies[i])}
		}
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return pending[0], fmt.Errorf("put %d webhook deliveries on the webhook queue: %w", len(entries), err)
		}
		var still []int
		for _, f := range out.Failed {
			i, err := strconv.Atoi(aws.ToString(f.Id))
			if err != nil || i < 0 || i >= len(evs) {
				return pending[0], fmt.Errorf("webhook queue: a failed entry with unknown id %q", aws.ToString(f.Id))
			}
			still = append(still, i)
			lastErr = fmt.Errorf("webhook of execution %s refused by the webhook queue: %s: %s",
				evs[i].ExecutionID, aws.ToString(f.Code), aws.ToString(f.Message))
		}
		if len(still) == 0 {
			return len(evs), nil
		}
		slices.Sort(still)
		first := still[0]
		pending = still
		if try >= q.tries {
			return first, fmt.Errorf("%d of %d webhook deliveries not queued after %d tries: %w", len(still), len(evs), try, lastErr)
		}
		q.log.WarnContext(ctx, "the webhook queue refused entries; trying again", "refused", len(still), "error", lastErr)
		if err := wait.For(ctx, pause); err != nil {
			return first, errors.Join(lastErr, err)
		}
		pause *= 2
	}
}
