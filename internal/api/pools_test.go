package api_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
)

// streamImage is an execution as the executions table's stream shows it:
// the attributes of the item execstore writes, for those the stream's fold
// reads (a missing one is a zero value, as in the item).
func streamImage(e execution.Execution) map[string]events.DynamoDBAttributeValue {
	ms := func(t time.Time) events.DynamoDBAttributeValue {
		return events.NewNumberAttribute(strconv.FormatInt(t.UnixMilli(), 10))
	}
	im := map[string]events.DynamoDBAttributeValue{
		"id": events.NewStringAttribute(e.ID), "folder": events.NewStringAttribute(e.Folder),
		"project": events.NewStringAttribute(e.Project), "package": events.NewStringAttribute(e.Package),
		"pool": events.NewStringAttribute(e.Pool), "status": events.NewStringAttribute(string(e.Status)),
		"attempt": events.NewNumberAttribute(strconv.Itoa(e.Attempt)), "created_at": ms(e.CreatedAt),
	}
	for k, v := range map[string]string{"worker_id": e.WorkerID, "error": e.Error, "callback_url": e.CallbackURL} {
		if v != "" {
			im[k] = events.NewStringAttribute(v)
		}
	}
	for k, t := range map[string]*time.Time{"started_at": e.StartedAt, "ended_at": e.EndedAt} {
		if t != nil {
			im[k] = ms(*t)
		}
	}
	return im
}

// stream folds an execution's changes into the aggregates the way the
// stream function does (aggregate.Handler): one record per change, on one
// shard, with growing sequence numbers.
type stream struct {
	t     *testing.T
	stats *aggregate.Memory
	seq   int
}

// change folds the change from old to new (old nil: the insert).
func (s *stream) change(old *execution.Execution, new execution.Execution) {
	s.t.Helper()
	s.seq++
	rec := events.DynamoDBEventRecord{
		EventID: strconv.Itoa(s.seq), EventName: string(events.DynamoDBOperationTypeInsert),
		Change: events.DynamoDBStreamRecord{
			SequenceNumber: strconv.Itoa(1000 + s.seq), ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Now()},
			NewImage: streamImage(new), StreamViewType: "NEW_AND_OLD_IMAGES",
		},
	}
	if old != nil {
		rec.EventName = string(events.DynamoDBOperationTypeModify)
		rec.Change.OldImage = streamImage(*old)
	}
	var ev events.DynamoDBTimeWindowEvent
	ev.ShardID = "shardId-1"
	ev.Records = []events.DynamoDBEventRecord{rec}
	resp, err := aggregate.Handler{Store: s.stats}.Handle(context.Background(), ev)
	require.NoError(s.t, err)
	require.Empty(s.t, resp.BatchItemFailures)
}

// GET /v1/pools counts a worker's busy slots from the counts the stream
// keeps, so a run that ended stops counting at once, not at the worker's
// next session renewal (every lease/2) that records its runs in the
// registry: here the registry still says 1 while the pool says 0. The
// execution goes through the store's own transitions (created by the API,
// claimed and finished under the worker's session), and each change goes
// through the stream's fold, as on AWS.
func TestPoolsRunningFollowsTheEnd(t *testing.T) {
	t.Parallel()
	const pool = "etl"
	b := setup(t, func(d *api.Deps) {
		d.Queues = map[string]api.Enqueuer{pool: taskqueue.NewMemory(taskqueue.MemoryOptions{})}
	})
	ctx := context.Background()
	feed := &stream{t: t, stats: b.stats}

	// A worker of the pool.
	const wid = "pools-worker"
	_, sess, _, err := b.workers.Register(ctx, registrytype.Registration{ID: wid, Machine: "m", Pools: []string{pool}, MaxTasks: 2, Version: "test"}, time.Minute)
	require.NoError(t, err)

	poolRunning := func() float64 {
		t.Helper()
		code, out, _ := do(t, b, "GET", "/v1/pools", readerToken, "")
		require.Equal(t, http.StatusOK, code, out)
		pools := out["pools"].([]any)
		require.Len(t, pools, 1)
		return pools[0].(map[string]any)["workers"].(map[string]any)["running"].(float64)
	}
	registryRunning := func() float64 {
		t.Helper()
		code, out, _ := do(t, b, "GET", "/v1/workers/"+wid, readerToken, "")
		require.Equal(t, http.StatusOK, code, out)
		return out["running"].(float64)
	}

	// Recorded pending (the insert: without it the pending count would go
	// below zero, which no real stream does and the document's Counts
	// schema forbids), claimed by the worker, whose session records the
	// run at its renewal, then ended.
	code, out, _ := do(t, b, "POST", "/v1/executions", adminToken, `{"folder":"f","project":"p","package":"pkg","pool":"`+pool+`","command":["true"]}`)
	require.Equal(t, http.StatusCreated, code, out)
	pending, err := b.store.Get(ctx, out["id"].(string))
	require.NoError(t, err)
	feed.change(nil, pending)
	require.Equal(t, 0.0, poolRunning(), "pending")

	running, err := b.store.Claim(ctx, pending.ID, sess, time.Now())
	require.NoError(t, err)
	feed.change(&pending, running)
	_, err = b.workers.Renew(ctx, sess, time.Now().Add(time.Minute), []registrytype.Run{{ExecutionID: running.ID, Attempt: running.Attempt}}, nil)
	require.NoError(t, err)
	require.Equal(t, 1.0, poolRunning(), "running")
	require.Equal(t, 1.0, registryRunning())

	ended, err := b.store.Finish(ctx, execution.LeaseOf(running), execution.Result{Status: execution.Succeeded}, time.Now())
	require.NoError(t, err)
	feed.change(&running, ended)
	require.Equal(t, 0.0, poolRunning(), "ended: the slot is free at once")
	require.Equal(t, 1.0, registryRunning(), "the registry's figure waits for the next renewal")
}
