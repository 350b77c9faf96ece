package aggregate

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/stream/streamgen"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// shardEvent is a batch as Lambda delivers it from one shard with a
// tumbling window set.
func shardEvent(shard string, recs []events.DynamoDBEventRecord) events.DynamoDBTimeWindowEvent {
	var ev events.DynamoDBTimeWindowEvent
	ev.Records = recs
	ev.ShardID = shard
	return ev
}

// Writes per batch are no more than the aggregate items the batch touches.
func TestWritesPerBatch(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	recs := streamgen.Generate(streamgen.Options{Seed: 3, Records: 300, Start: time.Now().Add(-time.Hour)})
	st := NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, WithScope(testenv.Name("writes")+"#"))
	h := Handler{Store: st}
	for i := 0; i < len(recs); i += 100 {
		b := recs[i:min(i+100, len(recs))]
		ups, err := Plan(st.scope, "shardId-0001", b, st.retention)
		require.NoError(t, err)
		before := st.Writes()
		_, err = h.Handle(context.Background(), shardEvent("shardId-0001", b))
		require.NoError(t, err)
		// A cold store may need one more write per item whose duration
		// bounds it has not seen yet; a warm one needs none.
		require.LessOrEqual(t, st.Writes()-before, int64(2*len(ups)), "batch %d", i/100)
		t.Logf("batch %d: %d items, %d writes", i/100, len(ups), st.Writes()-before)
		before = st.Writes()
		_, err = h.Handle(context.Background(), shardEvent("shardId-0001", b))
		require.NoError(t, err)
		require.LessOrEqual(t, st.Writes()-before, int64(len(ups)), "redelivery of batch %d", i/100)
	}
}
