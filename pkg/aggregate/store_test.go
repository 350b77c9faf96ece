package aggregate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/aggregate"
	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/testenv"
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

func TestHandlerAppliesCounts(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	// A scope of its own: its made-up records (changes without their
	// earlier ones, so negative counts; ids that are not UUIDs) stay out of
	// the global figures that other packages' tests read from these tables.
	store := aggregate.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, aggregate.WithScope(testenv.Name("scope")+"#"))
	h := aggregate.Handler{Store: store}
	pkg := testenv.Name("pkg")
	ref := aggregate.Ref{Folder: "f", Project: "p", Package: pkg}
	ctx := context.Background()

	c, err := store.Counts(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, counts(nil), c, "a package never run counts zero in every status")

	// Sequence numbers grow along the stream and are never reused.
	seq := 0
	batch := func(recs ...events.DynamoDBEventRecord) events.DynamoDBTimeWindowEvent {
		for i := range recs {
			seq++
			recs[i].Change.SequenceNumber = strconv.Itoa(seq)
		}
		return fromShard(recs)
	}
	resp, err := h.Handle(ctx, batch(
		events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: img(pkg, "pending")}},
		events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: img(pkg, "pending")}},
	))
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	c, err = store.Counts(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, counts(aggregate.Counts{execution.Pending: 2}), c)

	resp, err = h.Handle(ctx, batch(
		events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: img(pkg, "pending"), NewImage: img(pkg, "running")}},
		events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{OldImage: img(pkg, "running"), NewImage: img(pkg, "succeeded")}},
	))
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	c, err = store.Counts(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, counts(aggregate.Counts{execution.Pending: 1, execution.Succeeded: 1}), c)
}

// A write that fails reports the first record that touched its package, so
// Lambda retries only from there.
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

	_, err = h.Handle(context.Background(), fromShard([]events.DynamoDBEventRecord{{EventName: "INSERT"}}))
	require.ErrorContains(t, err, "fold stream batch")

	// Without a shard (no tumbling window on the event source mapping) a
	// redelivery cannot be told from a new record: refused, saying why.
	noShard := fromShard(ev.Records)
	noShard.ShardID = ""
	_, err = h.Handle(context.Background(), noShard)
	require.ErrorContains(t, err, "tumbling window")
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

// A dashboard over a window where nothing ended has every count, an hourly
// series and an empty (not null) package list, as the API's Dashboard
// schema requires.
func TestEmptyDashboardJSON(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	st := aggregate.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, aggregate.WithScope(testenv.Name("empty")+"#"))
	d, err := st.Dashboard(context.Background(), time.Now().UTC().Truncate(time.Hour).Add(-time.Hour))
	require.NoError(t, err)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	var got struct {
		Counts   map[string]int64  `json:"counts"`
		Packages []json.RawMessage `json:"packages"`
		Hourly   []struct {
			Counts map[string]int64 `json:"counts"`
		} `json:"hourly"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	require.Contains(t, string(b), `"packages":[]`)
	require.Len(t, got.Counts, len(execution.Statuses), "%s", b)
	require.GreaterOrEqual(t, len(got.Hourly), 2, "%s", b)
	for _, h := range got.Hourly {
		require.Len(t, h.Counts, len(execution.Statuses), "%s", b)
	}
}
