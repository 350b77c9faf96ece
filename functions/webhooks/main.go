// Command webhooks is the webhook sender Lambda function: batches of the
// webhook queue in (SQS event source), signed POSTs to executions'
// callback URLs out, with the deliveries that failed reported as batch
// item failures so that only they are tried again, after a backoff, and
// moved to the dead-letter queue after the queue's maxReceiveCount.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/pkg/assemble"
	"github.com/scaleout/scaleout/pkg/lambdamain"
)

type handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

func newHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (handler, error) {
	cfg, clients, err := assemble.Load(ctx, getenv)
	if err != nil {
		return nil, err
	}
	s, err := assemble.WebhookSender(ctx, cfg, clients, log)
	if err != nil {
		return nil, err
	}
	return s.Handle, nil
}

func main() { lambdamain.Run("webhooks", newHandler) }
