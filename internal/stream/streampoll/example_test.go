package streampoll_test

import (
	"context"
	"log"
	"log/slog"
	"os"
	"os/signal"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/scaleout/scaleout/internal/stream/streampoll"
)

// The local stand-in for the stream Lambda: the same handler, fed by a Poller. The endpoints come
// from AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_DYNAMODB_STREAMS.
func ExampleNew() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	table, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: new("executions")})
	if err != nil {
		log.Fatal(err)
	}
	handler := func(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
		var resp events.DynamoDBTimeWindowEventResponse
		for _, r := range ev.Records {
			slog.InfoContext(ctx, "change", "event_name", r.EventName, "sequence_number", r.Change.SequenceNumber)
		}
		return resp, nil
	}
	p, err := streampoll.New(
		dynamodbstreams.NewFromConfig(cfg),
		streampoll.NewDynamoCheckpoints(ddb, "checkpoints"), // not the streamed table
		handler,
		streampoll.Config{StreamARN: *table.Table.LatestStreamArn},
	)
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
