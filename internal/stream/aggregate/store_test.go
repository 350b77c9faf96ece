package aggregate_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func img(pkg, status string) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{
		"folder": events.NewStringAttribute("f"), "project": events.NewStringAttribute("p"),
		"package": events.NewStringAttribute(pkg), "status": events.NewStringAttribute(status),
	}
}

// counts fills in zero for every status c does not name.
func counts(c aggregate.Counts) aggregate.Counts {
	out := aggregate.Counts{}
	for _, s := range execution.Statuses {
		out[s] = c[s]
	}
	return out
}

// A write DynamoDB refuses reports the first record that touched its item,
// so Lambda retries only from there (aggregatetest holds the other cases
// of failed writes).
func TestHandlerReportsFailedTail(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	// A table that does not exist makes every write fail.
	h := aggregate.Handler{Store: aggregate.NewStore(env.Clients.DynamoDB, "no-such-table")}
	ev := fromShard([]events.DynamoDBEventRecord{
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "10", NewImage: img("a", "pending")}},
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "11", NewImage: img("b", "pending")}},
	})
	resp, err := h.Handle(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, []events.DynamoDBBatchItemFailure{{ItemIdentifier: "10"}}, resp.BatchItemFailures)
}

// fromShard is a batch as Lambda delivers it from one shard with a
// tumbling window set.
func fromShard(recs []events.DynamoDBEventRecord) events.DynamoDBTimeWindowEvent {
	var ev events.DynamoDBTimeWindowEvent
	ev.Records = recs
	ev.ShardID = "shardId-00000001-test"
	return ev
}

// The dedup state of an item does not grow with the transitions it takes:
// the hot items (ALL, the pool, the folder) keep one watermark per shard
// and hour, not one id per transition, so their size (and the write units
// every update costs) stays small however busy the installation is.
func TestItemSizeStaysSmall(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	scope := testenv.Name("size") + "#"
	store := aggregate.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, aggregate.WithScope(scope))
	h := aggregate.Handler{Store: store}
	ctx := context.Background()
	const executions = 3000
	now := time.Now().Add(-time.Minute).UnixMilli()
	image := func(id int, status string) map[string]events.DynamoDBAttributeValue {
		im := img("busy", status)
		im["id"] = events.NewStringAttribute(fmt.Sprintf("e%05d", id))
		im["pool"] = events.NewStringAttribute("default")
		im["worker_id"] = events.NewStringAttribute("w1")
		im["created_at"] = events.NewNumberAttribute(strconv.FormatInt(now, 10))
		im["started_at"] = events.NewNumberAttribute(strconv.FormatInt(now+5, 10))
		if status == "succeeded" {
			im["ended_at"] = events.NewNumberAttribute(strconv.FormatInt(now+5+int64(id%500), 10))
		}
		return im
	}
	var recs []events.DynamoDBEventRecord
	for i := range executions {
		recs = append(recs,
			events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: image(i, "pending")}},
			events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: image(i, "pending"), NewImage: image(i, "running")}},
			events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: image(i, "running"), NewImage: image(i, "succeeded")}},
		)
	}
	for i := range recs {
		recs[i].Change.SequenceNumber = strconv.Itoa(100000000 + i)
		recs[i].Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: time.UnixMilli(now)}
	}
	for i := 0; i < len(recs); i += 100 {
		resp, err := h.Handle(ctx, fromShard(recs[i:min(i+100, len(recs))]))
		require.NoError(t, err)
		require.Empty(t, resp.BatchItemFailures)
	}
	c, err := store.Counts(ctx, aggregate.Ref{Folder: "f", Project: "p", Package: "busy"})
	require.NoError(t, err)
	require.Equal(t, counts(aggregate.Counts{execution.Succeeded: executions}), c)

	out, err := env.Clients.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(env.Set.Catalog.Name),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: scope + "STATS"},
			"sk": &types.AttributeValueMemberS{Value: "ALL"},
		},
	})
	require.NoError(t, err)
	require.NotEmpty(t, out.Item)
	size := itemSize(out.Item)
	t.Logf("ALL item after %d transitions: %d bytes (one id per transition would take %d more)", len(recs), size, 9*len(recs))
	require.Less(t, size, 4096, "the item's size does not grow with its transitions")
}

// itemSize is an item's size as DynamoDB counts it, roughly: names and values.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += len(v.Value)
		case *types.AttributeValueMemberM:
			n += itemSize(v.Value)
		case *types.AttributeValueMemberBS:
			for _, b := range v.Value {
				n += len(b)
			}
		default:
			n += 8
		}
	}
	return n
}
