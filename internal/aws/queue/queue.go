package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/scaleout/scaleout/internal/executions/taskqueue"
)

// Queue is one pool's SQS work queue: the taskqueue.Queue port on SQS.
type Queue struct {
	client *sqs.Client
	url    string
}

// New returns the queue at url.
func New(client *sqs.Client, url string) *Queue { return &Queue{client: client, url: url} }

// Lookup finds a queue's URL by name.
func Lookup(ctx context.Context, client *sqs.Client, name string) (*Queue, error) {
	out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("find queue %s (is it created? `scaleout dev` and the CDK app create it): %w", name, err)
	}
	return New(client, aws.ToString(out.QueueUrl)), nil
}

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

var _ taskqueue.Queue = (*Queue)(nil)

// Send enqueues a task.
func (q *Queue) Send(ctx context.Context, t taskqueue.Task) error { return q.SendAfter(ctx, t, 0) }

// SendAfter enqueues a task that becomes visible after delay (rounded up
// to whole seconds, at most taskqueue.MaxDelay).
func (q *Queue) SendAfter(ctx context.Context, t taskqueue.Task, delay time.Duration) error {
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	in := &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(body))}
	if delay > 0 {
		in.DelaySeconds = int32(taskqueue.RoundUp(min(delay, taskqueue.MaxDelay)) / time.Second)
	}
	if _, err = q.client.SendMessage(ctx, in); err != nil {
		if t.Watchdog() {
			return fmt.Errorf("enqueue the watchdog of session %s: %w", t.Session, err)
		}
		return fmt.Errorf("enqueue execution %s: %w", t.ExecutionID, err)
	}
	return nil
}

// Receive long-polls for up to n tasks (1 to taskqueue.MaxReceive),
// waiting at most wait (whole seconds, as SQS counts it). The
// messages stay invisible for visibility (rounded up to whole seconds; 0:
// the queue's visibility timeout): a worker passes its lease, so that a
// message whose worker died comes back when the lease it took expires,
// not a queue setting later.
// A message whose body is not a task is returned with an empty ExecutionID
// so that the caller can delete it.
func (q *Queue) Receive(ctx context.Context, n int, wait, visibility time.Duration) ([]taskqueue.Message, error) {
	in := &sqs.ReceiveMessageInput{
		QueueUrl:            aws.String(q.url),
		MaxNumberOfMessages: int32(min(max(n, 1), taskqueue.MaxReceive)),
		WaitTimeSeconds:     int32(wait / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameSentTimestamp},
	}
	if visibility > 0 {
		in.VisibilityTimeout = int32(taskqueue.RoundUp(visibility) / time.Second)
	}
	out, err := q.client.ReceiveMessage(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", q.url, err)
	}
	msgs := make([]taskqueue.Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		var t taskqueue.Task
		_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &t) // a bad body leaves t empty
		n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		msg := taskqueue.Message{Task: t, Receipt: aws.ToString(m.ReceiptHandle), ReceiveCount: n}
		if sent, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
			msg.SentAt = time.UnixMilli(sent)
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

// Extend keeps a message invisible for d (rounded up to whole seconds)
// from now.
func (q *Queue) Extend(ctx context.Context, m taskqueue.Message, d time.Duration) error {
	_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(m.Receipt), VisibilityTimeout: int32(taskqueue.RoundUp(d) / time.Second),
	})
	if err != nil {
		return fmt.Errorf("extend visibility of execution %s: %w", m.ExecutionID, err)
	}
	return nil
}

// Release makes a message visible again at once, for another worker.
func (q *Queue) Release(ctx context.Context, m taskqueue.Message) error {
	return q.Extend(ctx, m, 0)
}

// Depth reports how many messages wait (visible) and are being worked on
// (in flight); SQS's figures are approximate.
func (q *Queue) Depth(ctx context.Context) (visible, inFlight int, err error) {
	out, err := q.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, 0, fmt.Errorf("read depth of %s: %w", q.url, err)
	}
	visible, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight, nil
}

// DeleteAll removes handled messages, ten a request.
func (q *Queue) DeleteAll(ctx context.Context, ms []taskqueue.Message) error {
	var errs []error
	for len(ms) > 0 {
		n := min(len(ms), 10)
		entries := make([]types.DeleteMessageBatchRequestEntry, n)
		for i, m := range ms[:n] {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.Receipt)}
		}
		out, err := q.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			errs = append(errs, fmt.Errorf("delete %d messages: %w", n, err))
		} else {
			for _, f := range out.Failed {
				errs = append(errs, fmt.Errorf("delete a message: %s: %s", aws.ToString(f.Code), aws.ToString(f.Message)))
			}
		}
		ms = ms[n:]
	}
	return errors.Join(errs...)
}

// Delete removes a handled message.
func (q *Queue) Delete(ctx context.Context, m taskqueue.Message) error {
	_, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(m.Receipt)})
	if err != nil {
		return fmt.Errorf("delete message of execution %s: %w", m.ExecutionID, err)
	}
	return nil
}
