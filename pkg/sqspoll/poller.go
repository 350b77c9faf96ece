package sqspoll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/scaleout/scaleout/pkg/wait"
)

// Handler is what Lambda calls with a batch of SQS messages.
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Config says which queue to read. Zero values take the defaults.
type Config struct {
	// QueueURL is required.
	QueueURL string
	// BatchSize is the most messages per handler call (default and at
	// most 10, one ReceiveMessage).
	BatchSize int32
	// Wait is the long poll of a receive (default 20s).
	Wait time.Duration
	// Logger receives the poller's logs (default: none).
	Logger *slog.Logger
}

// Poller receives a queue's messages and hands them to a Handler.
type Poller struct {
	client *sqs.Client
	h      Handler
	c      Config
	arn    string
}

// New returns a poller; it fails without a client, a handler or a queue URL.
func New(client *sqs.Client, h Handler, c Config) (*Poller, error) {
	var errs []error
	if client == nil {
		errs = append(errs, errors.New("sqspoll: no SQS client"))
	}
	if h == nil {
		errs = append(errs, errors.New("sqspoll: no handler"))
	}
	if c.QueueURL == "" {
		errs = append(errs, errors.New("sqspoll: no queue URL"))
	}
	if c.BatchSize < 0 || c.BatchSize > 10 {
		errs = append(errs, fmt.Errorf("sqspoll: batch size %d: give 1 to 10", c.BatchSize))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.BatchSize == 0 {
		c.BatchSize = 10
	}
	if c.Wait <= 0 {
		c.Wait = 20 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Poller{client: client, h: h, c: c}, nil
}

// Run receives and hands over batches until ctx ends; it returns nil then.
// A failed receive is logged and tried again after a pause.
func (p *Poller) Run(ctx context.Context) error {
	pause := time.Second
	for ctx.Err() == nil {
		if err := p.poll(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			p.c.Logger.WarnContext(ctx, "queue poll failed; trying again", "queue", p.c.QueueURL, "error", err)
			if wait.For(ctx, pause) != nil {
				break
			}
			pause = min(2*pause, 30*time.Second)
			continue
		}
		pause = time.Second
	}
	return nil
}

// poll receives one batch, hands it over and deletes what was handled.
func (p *Poller) poll(ctx context.Context) error {
	if p.arn == "" {
		out, err := p.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(p.c.QueueURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return fmt.Errorf("read the queue's ARN: %w", err)
		}
		p.arn = out.Attributes[string(types.QueueAttributeNameQueueArn)]
	}
	out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.c.QueueURL),
		MaxNumberOfMessages:         p.c.BatchSize,
		WaitTimeSeconds:             int32(p.c.Wait / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	if len(out.Messages) == 0 {
		return nil
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(out.Messages))}
	for i, m := range out.Messages {
		ev.Records[i] = events.SQSMessage{
			MessageId:      aws.ToString(m.MessageId),
			ReceiptHandle:  aws.ToString(m.ReceiptHandle),
			Body:           aws.ToString(m.Body),
			Md5OfBody:      aws.ToString(m.MD5OfBody),
			Attributes:     m.Attributes,
			EventSource:    "aws:sqs",
			EventSourceARN: p.arn,
		}
	}
	resp, err := p.h(ctx, ev)
	if err != nil {
		p.c.Logger.ErrorContext(ctx, "the handler failed: the batch is received again", "messages", len(ev.Records), "error", err)
		return nil
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var done []types.DeleteMessageBatchRequestEntry
	for i, m := range ev.Records {
		if !failed[m.MessageId] {
			done = append(done, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: aws.String(m.ReceiptHandle)})
		}
	}
	if len(done) == 0 {
		return nil
	}
	// Deleting outlives ctx's end a little: what was handled should not
	// be handled again.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	del, err := p.client.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.c.QueueURL), Entries: done})
	if err != nil {
		return fmt.Errorf("delete %d handled messages: %w", len(done), err)
	}
	for _, f := range del.Failed {
		p.c.Logger.WarnContext(ctx, "a handled message was not deleted: it is handed over again", "code", aws.ToString(f.Code), "error", aws.ToString(f.Message))
	}
	return nil
}
