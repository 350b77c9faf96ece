package aggregate

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/streamgen"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// No partition key gets more than a few writes from one batch, however
// many workers, packages and folders the batch touches: each counter item
// is a partition of its own (one write a batch), and the buckets of an
// hour spread over BucketShards partitions.
func TestNoHotPartitionKey(t *testing.T) {
	t.Parallel()
	ups, err := Plan("", "shardId-1", streamgen.Wide(time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)), DefaultRetention)
	require.NoError(t, err)
	writes := PartitionWrites(ups)
	// 50 packages, 10 projects, 5 folders, ALL, 2 pools, 100 workers; 50
	// hour and 50 day buckets.
	require.Len(t, ups, 50+10+5+1+2+100+50+50)
	buckets := 0
	for pk, n := range writes {
		if strings.HasPrefix(pk, "HOUR#") || strings.HasPrefix(pk, "DAY#") {
			buckets += n
			// The packages hashed to one of the 32 partitions: a few.
			require.LessOrEqual(t, n, 5, "bucket partition %s", pk)
			continue
		}
		require.Equal(t, 1, n, "counter partition %s: one item, one write", pk)
	}
	require.Equal(t, 100, buckets)
	// Before the items had partitions of their own, this batch wrote 100
	// times to WORKERS, 50 to HOUR#2026-03-01T10 and 13 to each STATS#<folder>.
	t.Logf("%d partition keys, at most %d writes to one", len(writes), maxOf(writes))
}

func maxOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n = max(n, v)
	}
	return n
}

// The read side finds what the wide batch wrote across its partitions:
// workers and pools by name (more than one BatchGetItem's 100 keys, names
// never written left out), the dashboard from every bucket partition.
func TestReadsAcrossPartitions(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Hour).Add(20 * time.Minute)
	st := NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, WithScope(testenv.Name("wide")+"#"))
	resp, err := Handler{Store: st}.Handle(context.Background(), shardEvent("shardId-0001", streamgen.Wide(at)))
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	ctx := context.Background()

	var ids []string
	for i := range 150 { // w000..w099 ran executions, w100..w149 did not
		ids = append(ids, fmt.Sprintf("w%03d", 149-i))
	}
	// The batch alone: what earlier batches added (the pending of the
	// claimed executions, the running of the ending ones) is not there, so
	// its removal shows as negative counts.
	ws, err := st.Workers(ctx, ids)
	require.NoError(t, err)
	require.Len(t, ws, 100)
	for i, w := range ws {
		require.Equal(t, fmt.Sprintf("w%03d", i), w.Worker, "sorted by id")
		want := Counts{execution.Running: 1}
		if i%2 == 1 {
			want = Counts{execution.Running: -1, execution.Succeeded: 1}
		}
		require.Equal(t, want, nonzero(w.Counts), w.Worker)
	}
	pools, err := st.Pools(ctx, []string{"default", "big", "idle", "big"})
	require.NoError(t, err)
	require.Len(t, pools, 2)
	require.Equal(t, "big", pools[0].Pool)
	require.Equal(t, Counts{execution.Pending: -25, execution.Succeeded: 25}, nonzero(pools[0].Counts))

	d, err := st.Dashboard(ctx, at.Truncate(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(-50), d.Pending)
	require.Equal(t, Counts{execution.Succeeded: 50}, nonzero(d.Counts))
	require.Len(t, d.Packages, 50)
	require.Equal(t, Counts{execution.Succeeded: 50}, nonzero(d.Hourly[0].Counts))
	require.Equal(t, int64(50), d.Hourly[0].Durations.Count)
}

// The dashboard's window counts nothing that ended before its start: the
// figures are kept per hour, so "the last 24 h" starts at the first whole
// hour within them, and an execution that ended 24h30m ago is left out
// where one that ended 23h10m ago is in.
func TestDashboardWindowCountsNothingOlder(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	now := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute)
	st := NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, WithScope(testenv.Name("window")+"#"), WithClock(func() time.Time { return now }))
	ended := func(id string, at time.Time, seq int) events.DynamoDBEventRecord {
		im := func(status execution.Status) map[string]events.DynamoDBAttributeValue {
			return map[string]events.DynamoDBAttributeValue{
				"id": events.NewStringAttribute(id), "folder": events.NewStringAttribute("f"),
				"project": events.NewStringAttribute("p"), "package": events.NewStringAttribute(id),
				"pool": events.NewStringAttribute("default"), "worker_id": events.NewStringAttribute("w"),
				"status":     events.NewStringAttribute(string(status)),
				"created_at": events.NewNumberAttribute(strconv.FormatInt(at.Add(-time.Minute).UnixMilli(), 10)),
				"started_at": events.NewNumberAttribute(strconv.FormatInt(at.Add(-time.Second).UnixMilli(), 10)),
				"ended_at":   events.NewNumberAttribute(strconv.FormatInt(at.UnixMilli(), 10)),
			}
		}
		old := im(execution.Running)
		delete(old, "ended_at")
		return events.DynamoDBEventRecord{
			EventID: id, EventName: string(events.DynamoDBOperationTypeModify),
			Change: events.DynamoDBStreamRecord{
				SequenceNumber:              strconv.Itoa(seq),
				ApproximateCreationDateTime: events.SecondsEpochTime{Time: at},
				OldImage:                    old, NewImage: im(execution.Succeeded),
			},
		}
	}
	resp, err := Handler{Store: st}.Handle(context.Background(), shardEvent("shardId-0001", []events.DynamoDBEventRecord{
		ended("too-old", now.Add(-24*time.Hour-30*time.Minute), 1),
		ended("in-window", now.Add(-23*time.Hour-10*time.Minute), 2),
	}))
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)

	d, err := st.Dashboard(context.Background(), now.Add(-24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, now.Add(-23*time.Hour-30*time.Minute), d.Since, "rounded up to the hour")
	require.Len(t, d.Hourly, 24, "23 whole hours and this one")
	require.Equal(t, Counts{execution.Succeeded: 1}, nonzero(d.Counts))
	require.Len(t, d.Packages, 1)
	require.Equal(t, "in-window", d.Packages[0].Package)

	// A start on the hour is kept as it is.
	d, err = st.Dashboard(context.Background(), now.Add(-25*time.Hour-30*time.Minute))
	require.NoError(t, err)
	require.Equal(t, now.Add(-25*time.Hour-30*time.Minute), d.Since)
	require.Equal(t, Counts{execution.Succeeded: 2}, nonzero(d.Counts))
}

// The dashboard reads only the hourly partitions of days whose daily
// partition of the same shard holds something, and still finds every
// bucket: executions that ended on the first and the last day of a
// three-day window, none on the day between.
func TestDashboardAcrossDays(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	first, last := today.Add(-48*time.Hour+10*time.Hour+20*time.Minute), today.Add(23*time.Hour+20*time.Minute)
	st := NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name, WithScope(testenv.Name("days")+"#"),
		WithClock(func() time.Time { return today.Add(23*time.Hour + 50*time.Minute) }))
	ctx := context.Background()
	for shard, at := range map[string]time.Time{"shardId-first": first, "shardId-last": last} {
		resp, err := Handler{Store: st}.Handle(ctx, shardEvent(shard, streamgen.Wide(at)))
		require.NoError(t, err)
		require.Empty(t, resp.BatchItemFailures)
	}

	d, err := st.Dashboard(ctx, today.Add(-48*time.Hour))
	require.NoError(t, err)
	require.Len(t, d.Hourly, 72)
	require.Equal(t, Counts{execution.Succeeded: 100}, nonzero(d.Counts))
	for _, h := range d.Hourly {
		want := Counts{}
		if h.Hour.Equal(first.Truncate(time.Hour)) || h.Hour.Equal(last.Truncate(time.Hour)) {
			want = Counts{execution.Succeeded: 50}
		}
		require.Equal(t, want, nonzero(h.Counts), "hour %s", h.Hour)
	}
	require.Len(t, d.Packages, 50)
	for _, p := range d.Packages {
		require.Equal(t, Counts{execution.Succeeded: 2}, nonzero(p.Counts), p.PackageRef.String())
	}

	// From the quiet day on: the last day's only.
	d, err = st.Dashboard(ctx, today.Add(-24*time.Hour))
	require.NoError(t, err)
	require.Len(t, d.Hourly, 48)
	require.Equal(t, Counts{execution.Succeeded: 50}, nonzero(d.Counts))
}
