package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/stream/notify"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The stream function's entry point, fed a DynamoDB stream event fixture
// as Lambda sends it with a tumbling window (the shard named).
func TestStreamEntryPoint(t *testing.T) {
	env := testenv.AWS(t)
	b, err := os.ReadFile("testdata/stream-batch.json")
	require.NoError(t, err)
	var ev events.DynamoDBTimeWindowEvent
	require.NoError(t, json.Unmarshal(b, &ev))
	require.NotEmpty(t, ev.ShardID)
	// Give the fixture's folder a fresh name so that counts start at zero.
	folder := "finance-" + uuid.NewString()[:8]
	for _, r := range ev.Records {
		for _, img := range []map[string]events.DynamoDBAttributeValue{r.Change.OldImage, r.Change.NewImage} {
			if img != nil {
				img["folder"] = events.NewStringAttribute(folder)
			}
		}
	}
	h, err := newHandler(context.Background(), func(k string) string {
		return map[string]string{"SCALEOUT_PREFIX": testenv.Prefix}[k]
	}, nil)
	require.NoError(t, err)
	resp, err := h(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	out, err := json.Marshal(resp)
	require.NoError(t, err)
	require.Contains(t, string(out), `"state":{}`, "Lambda takes a response without state for a failure")

	c, err := aggregate.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name).
		Counts(context.Background(), aggregate.Ref{Folder: folder, Project: "daily", Package: "load-sales"})
	require.NoError(t, err)
	require.Equal(t, int64(1), c[execution.Succeeded])
	require.Equal(t, int64(1), c[execution.Failed])
	require.Equal(t, int64(0), c[execution.Pending])
}

// A receiver that never answers does not hold the stream back: the stream
// function only enqueues the deliveries (on the webhook queue the webhook
// sender reads) and returns with the aggregates written, whatever the
// receiver does.
func TestSlowReceiverDoesNotHoldTheStream(t *testing.T) {
	env := testenv.AWS(t)
	ctx := context.Background()
	def := resources.WebhookQueue(testenv.Name("test-stream-hooks"))
	url, err := bootstrap.EnsureQueue(ctx, env.Clients.SQS, def)
	require.NoError(t, err)

	release := make(chan struct{})
	var calls atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select { // answers only when the test ends
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer recv.Close()
	defer close(release)

	h, err := newHandler(ctx, func(k string) string {
		return map[string]string{
			"SCALEOUT_PREFIX":                testenv.Prefix,
			"SCALEOUT_WEBHOOK_QUEUE_URL":     url,
			"SCALEOUT_WEBHOOK_SECRET":        "stream-test-secret-0123456789abcdef",
			"SCALEOUT_WEBHOOK_ALLOW_PRIVATE": "true",
		}[k]
	}, nil)
	require.NoError(t, err)

	b, err := os.ReadFile("testdata/stream-batch.json")
	require.NoError(t, err)
	var ev events.DynamoDBTimeWindowEvent
	require.NoError(t, json.Unmarshal(b, &ev))
	ev.ShardID = "shardId-slow-" + uuid.NewString()[:8]
	folder := "slow-" + uuid.NewString()[:8]
	ids := map[string]string{}
	for _, r := range ev.Records {
		for _, img := range []map[string]events.DynamoDBAttributeValue{r.Change.Keys, r.Change.OldImage, r.Change.NewImage} {
			if img == nil {
				continue
			}
			if id, ok := img["id"]; ok {
				if ids[id.String()] == "" {
					ids[id.String()] = testenv.Name(id.String())
				}
				img["id"] = events.NewStringAttribute(ids[id.String()])
			}
			if _, ok := img["status"]; ok {
				img["folder"] = events.NewStringAttribute(folder)
				img["callback_url"] = events.NewStringAttribute(recv.URL + "/hook")
			}
		}
	}

	type result struct {
		resp events.DynamoDBTimeWindowEventResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := h(ctx, ev)
		done <- result{resp, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the stream handler is still waiting for the webhook receiver")
	}
	require.NoError(t, res.err)
	require.Empty(t, res.resp.BatchItemFailures)
	require.Zero(t, calls.Load(), "the stream function sends no webhook itself")

	c, err := aggregate.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name).
		Counts(ctx, aggregate.Ref{Folder: folder, Project: "daily", Package: "load-sales"})
	require.NoError(t, err)
	require.Equal(t, int64(1), c[execution.Succeeded])
	require.Equal(t, int64(1), c[execution.Failed])

	// One delivery on the webhook queue per execution that ended.
	var got []notify.Event
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		out, err := env.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		require.NoError(c, err)
		for _, m := range out.Messages {
			var d notify.Event
			require.NoError(c, json.Unmarshal([]byte(aws.ToString(m.Body)), &d))
			got = append(got, d)
		}
		assert.GreaterOrEqual(c, len(got), 2)
	}, 20*time.Second, 10*time.Millisecond)
	require.Len(t, got, 2)
	byID := map[string]notify.Event{}
	for _, d := range got {
		byID[d.ExecutionID] = d
		require.Equal(t, recv.URL+"/hook", d.CallbackURL)
		require.Equal(t, folder, d.Folder)
	}
	require.Equal(t, execution.Succeeded, byID[ids["e1"]].Status)
	require.Equal(t, execution.Failed, byID[ids["e2"]].Status)
}
