package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func event(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	var ev events.APIGatewayV2HTTPRequest
	require.NoError(t, json.Unmarshal(b, &ev))
	return ev
}

// The Lambda entry point, fed recorded API Gateway HTTP API events, with
// IAM authorization as deployed.
func TestLambdaEntryPoint(t *testing.T) {
	env := testenv.AWS(t)
	vars := map[string]string{
		"SCALEOUT_PREFIX":     testenv.Prefix,
		"SCALEOUT_SECRET_KEY": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"SCALEOUT_POOLS":      "default,other",
		"SCALEOUT_AUTH":       "iam",
		"SCALEOUT_IAM_ROLES": "arn:aws:sts::123456789012:assumed-role/scheduler/*=executor," +
			"arn:aws:iam::123456789012:user/dashboard=reader",
	}
	h, err := newHandler(context.Background(), func(k string) string { return vars[k] }, nil)
	require.NoError(t, err)
	ctx := context.Background()

	resp, err := h(ctx, event(t, "get-health.json"))
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)

	resp, err = h(ctx, event(t, "post-execution-iam.json"))
	require.NoError(t, err)
	require.Equal(t, 201, resp.StatusCode, resp.Body)
	var e execution.Execution
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &e))
	require.Equal(t, "load-sales", e.Package)
	require.Equal(t, "finance", e.Folder)
	stored, err := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name).Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Pending, stored.Status)

	resp, err = h(ctx, event(t, "get-execution-unknown-caller.json"))
	require.NoError(t, err)
	require.Equal(t, 401, resp.StatusCode)
	require.Contains(t, resp.Body, "has no Scaleout role")

	resp, err = h(ctx, event(t, "post-execution-reader.json"))
	require.NoError(t, err)
	require.Equal(t, 403, resp.StatusCode)
	require.Contains(t, resp.Body, "needs the executor role")
}

func TestNewHandlerReportsConfiguration(t *testing.T) {
	_, err := newHandler(context.Background(), func(k string) string {
		return map[string]string{"SCALEOUT_AUTH": "iam", "SCALEOUT_PREFIX": "bad prefix"}[k]
	}, nil)
	require.ErrorContains(t, err, `resource prefix "bad prefix"`)
}
