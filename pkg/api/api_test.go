package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/aggregate"
	"github.com/scaleout/scaleout/pkg/api"
	"github.com/scaleout/scaleout/pkg/auth"
	"github.com/scaleout/scaleout/pkg/execstore"
	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/queue"
	"github.com/scaleout/scaleout/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	adminToken  = "admin-token-0123456789"
	readerToken = "reader-token-012345678"
)

type bundle struct {
	srv   *httptest.Server
	store *execstore.Store
	queue *queue.Queue
}

func setup(t *testing.T) bundle {
	t.Helper()
	env := testenv.AWS(t)
	authn, err := auth.NewBearerTokens(map[string]auth.Principal{
		adminToken:  {Name: "ops", Role: auth.Admin},
		readerToken: {Name: "dash", Role: auth.Reader},
	})
	require.NoError(t, err)
	store := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name)
	q := queue.New(env.Clients.SQS, env.Created.QueueURLs["default"])
	broken := queue.New(env.Clients.SQS, strings.Replace(env.Created.QueueURLs["default"], "pool-default", "no-such-queue", 1))
	s, err := api.New(api.Deps{
		Store:  store,
		Queues: map[string]api.Enqueuer{"default": q, "broken": broken},
		Stats:  aggregate.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name),
		Auth:   authn,
	})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return bundle{srv: srv, store: store, queue: q}
}

func do(t *testing.T, b bundle, method, path, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out), "every answer is JSON")
	return resp.StatusCode, out, resp.Header
}

func TestCreateAndGetExecution(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pkg := testenv.Name("hello")
	code, out, hdr := do(t, b, "POST", "/v1/executions", adminToken,
		`{"folder":"finance","package":"`+pkg+`","command":["sh","-c","echo hi"]}`)
	require.Equal(t, http.StatusCreated, code, out)
	id := out["id"].(string)
	require.Equal(t, "/v1/executions/"+id, hdr.Get("Location"))
	require.Equal(t, "pending", out["status"])
	require.Equal(t, "finance", out["folder"])
	require.Equal(t, "default", out["project"])

	code, got, _ := do(t, b, "GET", "/v1/executions/"+id, readerToken, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, out, got)

	// The execution is on the queue.
	require.Eventually(t, func() bool {
		msgs, err := b.queue.Receive(context.Background(), 10, 0)
		require.NoError(t, err)
		for _, m := range msgs {
			if m.ExecutionID == id {
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond)
}

func TestClientMistakes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		code, message                   string
	}{
		{"no token", "POST", "/v1/executions", "", `{}`, 401, "unauthenticated", "Authorization: Bearer"},
		{"bad token", "GET", "/v1/executions/x", "wrong-token-0123456789", "", 401, "unauthenticated", "not valid"},
		{"reader cannot start", "POST", "/v1/executions", readerToken, `{}`, 403, "forbidden", "needs the executor role"},
		{"malformed JSON", "POST", "/v1/executions", adminToken, `{"package":`, 400, "invalid_request", "malformed JSON"},
		{"empty body", "POST", "/v1/executions", adminToken, ``, 400, "invalid_request", "empty body"},
		{"unknown field", "POST", "/v1/executions", adminToken, `{"package":"a","cmd":["x"]}`, 400, "invalid_request", `unknown field "cmd"`},
		{"wrong type", "POST", "/v1/executions", adminToken, `{"package":"a","command":"echo"}`, 400, "invalid_request", `field "command": expected []string`},
		{"two objects", "POST", "/v1/executions", adminToken, `{"package":"a","command":["x"]} {}`, 400, "invalid_request", "exactly one object"},
		{"missing package and command", "POST", "/v1/executions", adminToken, `{}`, 400, "invalid_request", `package ""`},
		{"bad name", "POST", "/v1/executions", adminToken, `{"package":"../x","command":["x"]}`, 400, "invalid_request", `package "../x"`},
		{"unknown pool", "POST", "/v1/executions", adminToken, `{"package":"a","pool":"gpu","command":["x"]}`, 400, "invalid_request", `pool "gpu" does not exist`},
		{"too large", "POST", "/v1/executions", adminToken, `{"package":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`, 413, "too_large", "request body over"},
		{"not an id", "GET", "/v1/executions/nope", readerToken, "", 404, "not_found", "not a valid execution id"},
		{"unknown id", "GET", "/v1/executions/01a21404-fe6e-7674-964b-99a66dab3bca", readerToken, "", 404, "not_found", "not found"},
		{"unknown route", "GET", "/v1/nothing", adminToken, "", 404, "not_found", "no route GET /v1/nothing"},
		{"wrong method", "DELETE", "/v1/health", adminToken, "", 405, "method_not_allowed", "allowed: GET"},
		{"bad stats query", "GET", "/v1/stats?package=a/b", readerToken, "", 400, "invalid_request", "package="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, out, _ := do(t, b, tc.method, tc.path, tc.token, tc.body)
			require.Equal(t, tc.status, status, out)
			e := out["error"].(map[string]any)
			require.Equal(t, tc.code, e["code"])
			require.Contains(t, e["message"], tc.message)
		})
	}
}

func TestHealthNeedsNoToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, out, _ := do(t, b, "GET", "/v1/health", "", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", out["status"])
}

// An execution that cannot be queued is not left pending forever.
func TestEnqueueFailureFailsTheExecution(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, out, hdr := do(t, b, "POST", "/v1/executions", adminToken, `{"package":"a","pool":"broken","command":["true"]}`)
	require.Equal(t, http.StatusServiceUnavailable, status, out)
	require.Equal(t, "2", hdr.Get("Retry-After"))
	msg := out["error"].(map[string]any)["message"].(string)
	id := strings.Fields(msg)[1]
	e, err := b.store.Get(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, execution.Failed, e.Status)
	require.Contains(t, e.Error, "could not enqueue")
}

func TestStats(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, out, _ := do(t, b, "GET", "/v1/stats?folder=f&package="+testenv.Name("p"), readerToken, "")
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, "f", out["folder"])
	require.Equal(t, "default", out["project"])
	require.Equal(t, float64(0), out["counts"].(map[string]any)["succeeded"])
}
