package aggregatetest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/stream/aggregate/aggregatetest"
)

// The API reads its figures from a Memory as it does from a Store.
var _ api.Stats = (*aggregate.Memory)(nil)

// Memory passes the conformance suite, without the stand-ins.
func TestMemory(t *testing.T) {
	t.Parallel()
	aggregatetest.Run(t, func(t *testing.T, opts ...aggregate.Option) aggregatetest.Store {
		return aggregate.NewMemory(opts...)
	})
}

// A bucket goes once its retention is over, as DynamoDB's TTL removes it
// (some time after): a dashboard window that reaches back to it no longer
// counts it; the counters stay.
func TestMemoryBucketsExpire(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		now = time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store := aggregate.NewMemory(aggregate.WithClock(clock), aggregate.WithRetention(2*time.Hour))
	ended := now.Add(-20 * time.Minute)
	im := func(status string) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{
			"id": events.NewStringAttribute("e1"), "folder": events.NewStringAttribute("f"),
			"project": events.NewStringAttribute("p"), "package": events.NewStringAttribute("x"),
			"pool": events.NewStringAttribute("default"), "status": events.NewStringAttribute(status),
			"started_at": events.NewNumberAttribute(fmt.Sprint(ended.Add(-time.Second).UnixMilli())),
			"ended_at":   events.NewNumberAttribute(fmt.Sprint(ended.UnixMilli())),
		}
	}
	var ev events.DynamoDBTimeWindowEvent
	ev.ShardID = "shardId-1"
	ev.Records = []events.DynamoDBEventRecord{{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{
		SequenceNumber: "1", ApproximateCreationDateTime: events.SecondsEpochTime{Time: ended},
		OldImage: im("running"), NewImage: im("succeeded"),
	}}}
	ctx := context.Background()
	resp, err := aggregate.Handler{Store: store}.Handle(ctx, ev)
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	since := now.Truncate(time.Hour)

	// The hour's bucket ends at 11:00 and is kept until 13:00.
	for _, tc := range []struct {
		at    time.Time
		ended int64
	}{{now, 1}, {time.Date(2026, 3, 1, 12, 59, 59, 0, time.UTC), 1}, {time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC), 0}} {
		mu.Lock()
		now = tc.at
		mu.Unlock()
		d, err := store.Dashboard(ctx, since)
		require.NoError(t, err)
		require.Equal(t, tc.ended, d.Counts[execution.Succeeded], "at %s", tc.at)
	}
	st, err := store.Stats(ctx, aggregate.Filter{Folder: "f", Project: "p", Package: "x"})
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Counts[execution.Succeeded], "the package's counter has no retention")
}
