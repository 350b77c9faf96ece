package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/aggregate"
	"github.com/scaleout/scaleout/pkg/execution"
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
