package stack

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scaleout/scaleout/pkg/resources"
)

// newWebhooks defines the webhook queue (with its dead-letter queue) and
// the webhook sender, which delivers it. The stream function only sends on
// that queue: a slow or failing receiver holds the sender (its own
// timeout, its own reserved concurrency), never the stream's shard.
func (s *Stack) newWebhooks(set Settings) {
	scope := constructs.NewConstruct(s.Stack, jsii.String("Webhooks"))
	s.WebhookQueue = newQueue(scope, "Queue", s.Resources.Webhooks)
	env := set.baseEnvironment()
	s.Webhooks = newFunction(s.Stack, "WebhookSender", functionProps{
		name:        set.Prefix + "-webhooks",
		description: "Scaleout webhook sender: the webhook queue to signed POSTs to executions' callback URLs",
		code:        filepath.Join(set.BuildDir, "webhooks"),
		timeout:     resources.WebhookSenderTimeout,
		environment: env,
		retention:   retention(set),
		// A receiver that hangs takes at most these; the event source
		// polls no more than it may run, so no batch is throttled.
		reserved: resources.WebhookConcurrency,
	})
	s.Webhooks.AddEnvironment(jsii.String("SCALEOUT_WEBHOOK_QUEUE_URL"), s.WebhookQueue.QueueUrl(), nil)
	// Receive, delete and delay (ChangeMessageVisibility) on its queue.
	s.Webhooks.AddEventSource(awslambdaeventsources.NewSqsEventSource(s.WebhookQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(resources.WebhookBatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(resources.WebhookConcurrency),
	}))
	// The delivery records (NOTIFY#<execution>): a conditional put, a read
	// when the put's failure returns no item, and updates.
	s.Catalog.Grant(s.Webhooks, jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:UpdateItem"))

	// The stream function sends there, and nothing else on the queue.
	s.WebhookQueue.Grant(s.Stream, jsii.String("sqs:SendMessage"))
	s.Stream.AddEnvironment(jsii.String("SCALEOUT_WEBHOOK_QUEUE_URL"), s.WebhookQueue.QueueUrl(), nil)

	output(s.Stack, "WebhookQueueArn", s.WebhookQueue.QueueArn(), "webhook deliveries waiting for the sender")
	output(s.Stack, "WebhookDlqArn", s.WebhookQueue.DeadLetterQueue().Queue.QueueArn(),
		"webhook deliveries that failed every try (move them back to the webhook queue once the receiver is back)")
}
