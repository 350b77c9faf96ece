package aggregate_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"
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
	store := aggregate.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name)
	h := aggregate.Handler{Store: store}
	pkg := testenv.Name("pkg")
	ref := aggregate.Ref{Folder: "f", Project: "p", Package: pkg}
	ctx := context.Background()

	c, err := store.Counts(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, counts(nil), c, "a package never run counts zero in every status")

	// Sequence numbers grow along the stream and are never reused.
	seq := 0
	batch := func(recs ...events.DynamoDBEventRecord) events.DynamoDBEvent {
		for i := range recs {
			seq++
			recs[i].Change.SequenceNumber = strconv.Itoa(seq)
		}
		return events.DynamoDBEvent{Records: recs}
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
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "10", NewImage: img("a", "pending")}},
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "11", NewImage: img("b", "pending")}},
	}}
	resp, err := h.Handle(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, []events.DynamoDBBatchItemFailure{{ItemIdentifier: "10"}}, resp.BatchItemFailures)

	_, err = h.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventName: "INSERT"}}})
	require.ErrorContains(t, err, "fold stream batch")
}
