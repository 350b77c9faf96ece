package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/localstack/secretstore"
	"github.com/scaleout/scaleout/pkg/aggregate"
	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/notify"
	"github.com/scaleout/scaleout/pkg/testenv"
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

// On AWS the webhook signing secret is a Secrets Manager secret the stack
// makes; the function reads it by ARN when it starts and signs with it.
func TestWebhookSecretFromSecretsManager(t *testing.T) {
	testenv.AWS(t)
	store := secretstore.Start()
	defer store.Close()
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", store.URL)
	secret := "from-secrets-manager-0123456789abcdef"
	arn := store.Put("scaleout-webhook", secret)

	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	env := map[string]string{
		"SCALEOUT_PREFIX":                testenv.Prefix,
		"SCALEOUT_WEBHOOK_SECRET_ARN":    arn,
		"SCALEOUT_WEBHOOK_ALLOW_PRIVATE": "true", // the receiver is on loopback
	}
	h, err := newHandler(context.Background(), func(k string) string { return env[k] }, nil)
	require.NoError(t, err)
	require.EqualValues(t, 1, store.Reads(), "read once, at start")

	b, err := os.ReadFile("testdata/stream-batch.json")
	require.NoError(t, err)
	var ev events.DynamoDBTimeWindowEvent
	require.NoError(t, json.Unmarshal(b, &ev))
	ev.ShardID = "shardId-webhook-" + uuid.NewString()[:8]
	folder := "hooks-" + uuid.NewString()[:8]
	for _, r := range ev.Records {
		for _, img := range []map[string]events.DynamoDBAttributeValue{r.Change.OldImage, r.Change.NewImage} {
			if img != nil {
				img["folder"] = events.NewStringAttribute(folder)
				img["callback_url"] = events.NewStringAttribute(recv.URL + "/hook")
			}
		}
	}
	resp, err := h(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2, "one webhook per execution that ended in the batch (one succeeded, one failed)")
	for i, r := range got {
		require.NoError(t, notify.Verify([]byte(secret), r.Header.Get(notify.HeaderTimestamp), bodies[i],
			r.Header.Get(notify.HeaderSignature), time.Minute), "signed with the secret from Secrets Manager")
	}

	// A secret that cannot be read stops the function, saying which.
	env["SCALEOUT_WEBHOOK_SECRET_ARN"] = "arn:aws:secretsmanager:us-east-1:000000000000:secret:missing-abcdef"
	_, err = newHandler(context.Background(), func(k string) string { return env[k] }, nil)
	require.ErrorContains(t, err, "SCALEOUT_WEBHOOK_SECRET_ARN")
	require.ErrorContains(t, err, "ResourceNotFoundException")
}
