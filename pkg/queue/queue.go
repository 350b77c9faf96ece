package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Queue is one pool's SQS work queue.
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

// Task is the body of one message.
type Task struct {
	ExecutionID string `json:"execution_id"`
	Pool        string `json:"pool"`
}

// Message is a received task.
type Message struct {
	Task
	Receipt string
	// ReceiveCount is how often SQS delivered this message, this time included.
	ReceiveCount int
}

// Send enqueues a task.
func (q *Queue) Send(ctx context.Context, t Task) error {
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(body))})
	if err != nil {
		return fmt.Errorf("enqueue execution %s: %w", t.ExecutionID, err)
	}
	return nil
}

// Receive long-polls for up to max tasks, waiting at most wait. The
// messages stay invisible for visibility (rounded up to whole seconds; 0:
// the queue's visibility timeout): a worker passes its lease, so that a
// message whose worker died comes back when the lease it took expires,
// not a queue setting later.
// A message whose body is not a task is returned with an empty ExecutionID
// so that the caller can delete it.
func (q *Queue) Receive(ctx context.Context, max int32, wait, visibility time.Duration) ([]Message, error) {
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.url),
		MaxNumberOfMessages:         max,
		WaitTimeSeconds:             int32(wait / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	}
	if visibility > 0 {
		in.VisibilityTimeout = int32((visibility + time.Second - 1) / time.Second)
	}
	out, err := q.client.ReceiveMessage(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", q.url, err)
	}
	msgs := make([]Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		var t Task
		_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &t) // a bad body leaves t empty
		n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		msgs = append(msgs, Message{Task: t, Receipt: aws.ToString(m.ReceiptHandle), ReceiveCount: n})
	}
	return msgs, nil
}

// Extend keeps a message invisible for d from now.
func (q *Queue) Extend(ctx context.Context, m Message, d time.Duration) error {
	_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(m.Receipt), VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		return fmt.Errorf("extend visibility of execution %s: %w", m.ExecutionID, err)
	}
	return nil
}

// Release makes a message visible again at once, for another worker.
func (q *Queue) Release(ctx context.Context, m Message) error {
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

// Delete removes a handled message.
func (q *Queue) Delete(ctx context.Context, m Message) error {
	_, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(m.Receipt)})
	if err != nil {
		return fmt.Errorf("delete message of execution %s: %w", m.ExecutionID, err)
	}
	return nil
}
