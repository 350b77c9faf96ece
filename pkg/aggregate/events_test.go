package aggregate_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/localstack/eventbus"
	"github.com/scaleout/scaleout/pkg/aggregate"
	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/notify"
	"github.com/scaleout/scaleout/pkg/testenv"
)

// An event the bus refuses fails the batch from its record on; the tail
// delivered again puts it, and the aggregates do not count twice.
func TestHandlerPutsEveryEndOnTheBus(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	srv := eventbus.Start()
	defer srv.Close()
	bus, err := notify.NewBus(eventbridge.New(eventbridge.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})),
	}), "executions", notify.WithBusRetries(2, time.Millisecond))
	require.NoError(t, err)
	// A scope of its own: its made-up records (changes without their
	// earlier ones, so negative counts; ids that are not UUIDs) stay out of
	// the global figures that other packages' tests read from these tables.
	store := aggregate.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, aggregate.WithScope(testenv.Name("scope")+"#"))
	h := aggregate.Handler{Store: store, Events: bus}
	pkg := testenv.Name("pkg")
	ctx := context.Background()

	start := time.Now().Add(-time.Minute).UnixMilli()
	end := func(id, status string) events.DynamoDBEventRecord {
		old, new := img(pkg, "running"), img(pkg, status)
		for _, im := range []map[string]events.DynamoDBAttributeValue{old, new} {
			im["id"] = events.NewStringAttribute(id)
			im["pool"] = events.NewStringAttribute("default")
			im["attempt"] = events.NewNumberAttribute("1")
			im["created_at"] = events.NewNumberAttribute(strconv.FormatInt(start, 10))
			im["started_at"] = events.NewNumberAttribute(strconv.FormatInt(start+10, 10))
		}
		new["ended_at"] = events.NewNumberAttribute(strconv.FormatInt(start+2010, 10))
		return events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: old, NewImage: new}}
	}
	recs := []events.DynamoDBEventRecord{
		end("e1", "succeeded"),
		{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: img(pkg, "pending"), NewImage: img(pkg, "running")}},
		end("e2", "failed"),
		end("e3", "succeeded"),
	}
	for i := range recs {
		recs[i].Change.SequenceNumber = strconv.Itoa(100 + i)
	}
	srv.Refuse(`"e2"`, "InternalFailure", 2) // both tries of the first delivery
	resp, err := h.Handle(ctx, fromShard(recs))
	require.NoError(t, err)
	require.Equal(t, []events.DynamoDBBatchItemFailure{{ItemIdentifier: "102"}}, resp.BatchItemFailures,
		"the batch fails from the record whose event was not put")

	resp, err = h.Handle(ctx, fromShard(recs[2:]))
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)

	seen := map[string]notify.BusDetail{}
	for _, e := range srv.Events() {
		var d notify.BusDetail
		require.NoError(t, json.Unmarshal(e.Detail, &d))
		seen[d.ExecutionID] = d
	}
	require.Len(t, seen, 3, "every final status reached the bus")
	require.Equal(t, execution.Failed, seen["e2"].Status)
	require.EqualValues(t, 2000, *seen["e1"].DurationMS)
	require.Equal(t, "default", seen["e3"].Pool)

	c, err := store.Counts(ctx, aggregate.Ref{Folder: "f", Project: "p", Package: pkg})
	require.NoError(t, err)
	require.EqualValues(t, 2, c[execution.Succeeded], "the redelivered tail did not count twice")
	require.EqualValues(t, 1, c[execution.Failed])
}
