// Command stream is the stream Lambda function: batches of the executions
// table's DynamoDB stream in, catalog aggregates out (package aggregate),
// with batch item failures reported so that only a failed tail is retried.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/wiring/assemble"
	"github.com/scaleout/scaleout/internal/wiring/lambdamain"
)

type handler func(context.Context, events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error)

func newHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (handler, error) {
	cfg, clients, err := assemble.Load(ctx, getenv)
	if err != nil {
		return nil, err
	}
	// Lambda delivers no record older than the event source mapping's
	// maximum record age: the dedup watermarks need not outlive it (the
	// local stream poller, which can resume a day later, keeps the default).
	h, err := assemble.StreamHandler(ctx, cfg, clients, log, aggregate.WithDedupWindow(resources.StreamDedupWindow))
	if err != nil {
		return nil, err
	}
	return h.Handle, nil
}

func main() { lambdamain.Run("stream", newHandler) }
