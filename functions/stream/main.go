// Command stream is the stream Lambda function: batches of the executions
// table's DynamoDB stream in, catalog aggregates out (package aggregate),
// with batch item failures reported so that only a failed tail is retried.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/scaleout/scaleout/pkg/assemble"
)

type handler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

func newHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (handler, error) {
	cfg, clients, err := assemble.Load(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return assemble.StreamHandler(cfg, clients, log).Handle, nil
}

func main() {
	log := lambdacontext.NewLogger()
	h, err := newHandler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("stream function cannot start", "error", err)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(h)
}
