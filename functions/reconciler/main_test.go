package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/queue"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// These tests are of the composition root: the handler builds its SDK
// clients and looks its pools' queues up on the stand-ins, as it does on
// AWS. The reconciler's own rules are tested on in-memory adapters in
// internal/executions/reconcile. Each test has a pool of its own, so they
// run in parallel.
func TestMain(m *testing.M) { testenv.Main(m) }

// The reconciler function's entry point, fed a scheduled event fixture:
// one pass, which enqueues a stuck pending execution of its pool again.
func TestReconcilerEntryPoint(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	ctx := context.Background()
	// A pool of its own, so the pass touches nothing of other tests.
	pool := strings.ReplaceAll(testenv.Name("fn"), "-", "")
	out, err := env.Clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.Prefix + "-pool-" + pool)})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = env.Clients.SQS.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
	})
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "fn", Pool: pool,
		Status: execution.Pending, Definition: []byte(`{}`), CreatedAt: time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Millisecond),
	}
	require.NoError(t, execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name).Create(ctx, e))

	b, err := os.ReadFile("testdata/scheduled-event.json")
	require.NoError(t, err)
	var ev events.EventBridgeEvent
	require.NoError(t, json.Unmarshal(b, &ev))
	h, err := newHandler(ctx, func(k string) string {
		return map[string]string{"SCALEOUT_PREFIX": testenv.Prefix, "SCALEOUT_POOLS": pool}[k]
	}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	rep, err := h(ctx, ev)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Requeued)

	msgs, err := queue.New(env.Clients.SQS, aws.ToString(out.QueueUrl)).Receive(ctx, 10, time.Second, 0)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.Equal(t, e.ID, msgs[0].ExecutionID)
}

// A pass that cannot fix an execution fails the invocation, so that
// Lambda's Errors metric (and the reconciler-errors alarm) counts it: here
// the pool's queue is deleted after the handler looked it up, so the stuck
// execution's message cannot be sent again.
func TestFailedPassFailsTheInvocation(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	ctx := context.Background()
	pool := strings.ReplaceAll(testenv.Name("fail"), "-", "")
	out, err := env.Clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.Prefix + "-pool-" + pool)})
	require.NoError(t, err)
	h, err := newHandler(ctx, func(k string) string {
		return map[string]string{"SCALEOUT_PREFIX": testenv.Prefix, "SCALEOUT_POOLS": pool}[k]
	}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	_, err = env.Clients.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
	require.NoError(t, err)

	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "fn", Pool: pool,
		Status: execution.Pending, Definition: []byte(`{}`), CreatedAt: time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Millisecond),
	}
	require.NoError(t, execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name).Create(ctx, e))

	var ev events.EventBridgeEvent
	b, err := os.ReadFile("testdata/scheduled-event.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &ev))
	rep, err := h(ctx, ev)
	require.Error(t, err, "a pass that left an execution unfixed must fail the invocation")
	require.ErrorContains(t, err, e.ID)
	require.Equal(t, 1, rep.Failed)
	require.Zero(t, rep.Requeued)
}

func TestMissingSettingIsAnError(t *testing.T) {
	t.Parallel()
	_, err := newHandler(context.Background(), func(k string) string {
		return map[string]string{"SCALEOUT_PREFIX": "bad prefix"}[k]
	}, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "bad prefix")
}
