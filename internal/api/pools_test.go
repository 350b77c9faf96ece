package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/api/auth"
	"github.com/scaleout/scaleout/internal/aws/queue"
	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

// GET /v1/pools counts a worker's busy slots from the counts the stream
// keeps, so a run that ended stops counting at once, not at the worker's
// next session renewal (every lease/2) that records its runs in the
// registry: here the registry still says 1 while the pool says 0.
func TestPoolsRunningFollowsTheEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	db, table := b.env.Clients.DynamoDB, b.env.Set.Catalog.Name
	pool := testenv.Name("pool")
	key := make([]byte, 32)
	sealer, err := secrets.NewLocalSealer(key)
	require.NoError(t, err)
	types := tasktypes.NewRegistry()
	cat, err := catalog.New(catalog.Config{DB: db, Table: table, Types: types, Sealer: sealer})
	require.NoError(t, err)
	authn, err := auth.NewBearerTokens(map[string]auth.Principal{readerToken: {Name: "dash", Role: auth.Reader}})
	require.NoError(t, err)
	reg := registry.NewStore(db, table)
	stats := aggregate.NewStore(db, table)
	s, err := api.New(api.Deps{
		Catalog: cat, Store: execstore.New(db, b.env.Set.Executions.Name, table),
		Workers: reg, Messages: messages.NewStore(db, table), Types: types, Stats: stats, Auth: authn,
		Queues: map[string]api.Enqueuer{pool: queue.New(b.env.Clients.SQS, b.env.Created.QueueURLs["default"])},
	})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	b.srv = srv

	// A worker of the pool whose session recorded one run at its renewal.
	wid := testenv.Name("pools-worker")
	_, sess, _, err := reg.Register(ctx, registry.Registration{ID: wid, Machine: "m", Pools: []string{pool}, MaxTasks: 2, Version: "test"}, time.Minute)
	require.NoError(t, err)
	exec := testenv.Name("run")
	_, err = reg.Renew(ctx, sess, time.Now().Add(time.Minute), []registry.Run{{ExecutionID: exec, Attempt: 1}}, nil)
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

	// The stream: the execution recorded pending (from "": its insert),
	// claimed by the worker, then ended. Without the insert the pending
	// count would go below zero, which no real stream does and the
	// document's Counts schema forbids.
	shard, seq := testenv.Name("shard"), 0
	fold := func(from, to execution.Status) {
		t.Helper()
		at := time.Now()
		im := func(status execution.Status) map[string]events.DynamoDBAttributeValue {
			ms := events.NewNumberAttribute(strconv.FormatInt(at.UnixMilli(), 10))
			return map[string]events.DynamoDBAttributeValue{
				"id": events.NewStringAttribute(exec), "folder": events.NewStringAttribute("f"),
				"project": events.NewStringAttribute("p"), "package": events.NewStringAttribute("pkg"),
				"pool": events.NewStringAttribute(pool), "worker_id": events.NewStringAttribute(wid),
				"status": events.NewStringAttribute(string(status)), "created_at": ms, "started_at": ms, "ended_at": ms,
			}
		}
		old, new := im(from), im(to)
		delete(old, "ended_at")
		if from == execution.Pending {
			delete(old, "worker_id")
			delete(old, "started_at")
			delete(new, "ended_at")
		}
		op := events.DynamoDBOperationTypeModify
		if from == "" {
			old, op = nil, events.DynamoDBOperationTypeInsert
			delete(new, "worker_id")
			delete(new, "started_at")
			delete(new, "ended_at")
		}
		seq++
		var ev events.DynamoDBTimeWindowEvent
		ev.ShardID = shard
		ev.Records = []events.DynamoDBEventRecord{{
			EventID: strconv.Itoa(seq), EventName: string(op),
			Change: events.DynamoDBStreamRecord{
				SequenceNumber: strconv.Itoa(1000 + seq), ApproximateCreationDateTime: events.SecondsEpochTime{Time: at},
				OldImage: old, NewImage: new,
			},
		}}
		resp, err := aggregate.Handler{Store: stats}.Handle(ctx, ev)
		require.NoError(t, err)
		require.Empty(t, resp.BatchItemFailures)
	}
	fold("", execution.Pending)
	fold(execution.Pending, execution.Running)
	require.Equal(t, 1.0, poolRunning(), "running")
	fold(execution.Running, execution.Succeeded)
	require.Equal(t, 0.0, poolRunning(), "ended: the slot is free at once")
	require.Equal(t, 1.0, registryRunning(), "the registry's figure waits for the next renewal")
}
