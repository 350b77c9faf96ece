package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/api/auth"
	"github.com/scaleout/scaleout/internal/api/openapitest"
	"github.com/scaleout/scaleout/internal/executions/execmem"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/testkit/memapi"
)

// The API's tests run on the in-memory adapters of its ports (memapi: execmem,
// catalogmem, messages.Memory, taskqueue.Memory, aggregate.Memory), which
// pass the same conformance suites as the DynamoDB and SQS ones: no
// stand-ins, and each test has adapters of its own, so every test runs in
// parallel. What is about DynamoDB itself (the queries a listing costs) is
// execstore's test.

const (
	adminToken  = "admin-token-0123456789"
	readerToken = "reader-token-012345678"
)

type bundle struct {
	server *api.Server
	srv    *httptest.Server
	store  *execmem.Store
	// workers is the store's registry, the API's Workers.
	workers *execmem.Registry
	// queues are the pools' queues: "default" and "api" (the "broken"
	// pool's queue refuses every task).
	queues map[string]*taskqueue.Memory
	stats  *aggregate.Memory
}

// brokenQueue is a pool's queue that cannot be reached.
type brokenQueue struct{}

func (brokenQueue) Send(context.Context, taskqueue.Task) error {
	return errors.New("send to the broken pool's queue: connection refused")
}

// setup starts the API on in-memory adapters of its own; opts adjust its
// dependencies (a clock, other queues).
func setup(t testing.TB, opts ...func(*api.Deps)) bundle {
	t.Helper()
	authn, err := auth.NewBearerTokens(map[string]auth.Principal{
		adminToken:    {Name: "ops", Role: auth.Admin},
		readerToken:   {Name: "dash", Role: auth.Reader},
		executorToken: {Name: "scheduler", Role: auth.Executor},
	})
	require.NoError(t, err)
	deps, a := memapi.Deps(t, authn, "default", "api")
	deps.Queues["broken"] = brokenQueue{}
	for _, o := range opts {
		o(&deps)
	}
	b := bundle{store: a.Store, workers: a.Workers, queues: a.Queues, stats: a.Stats}
	b.server, err = api.New(deps)
	require.NoError(t, err)
	b.srv = httptest.NewServer(b.server)
	t.Cleanup(b.srv.Close)
	return b
}

func do(t *testing.T, b bundle, method, path, token, body string, headers ...string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := openapitest.Client(t, api.OpenAPI).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out), "every answer is JSON")
	return resp.StatusCode, out, resp.Header
}

func TestCreateAndGetExecution(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pkg := "hello"
	code, out, hdr := do(t, b, "POST", "/v1/executions", adminToken,
		`{"folder":"finance","package":"`+pkg+`","command":["sh","-c","echo hi"]}`)
	require.Equal(t, http.StatusCreated, code, out)
	id := out["id"].(string)
	require.Equal(t, "/v1/executions/"+id, hdr.Get("Location"))
	require.Equal(t, "pending", out["status"])
	require.Equal(t, "finance", out["folder"])
	require.Equal(t, "default", out["project"])

	// "definition": null is no definition (clients send it for an unset field).
	code, other, _ := do(t, b, "POST", "/v1/executions", adminToken,
		`{"folder":"finance","package":"`+pkg+`","definition":null,"command":["true"]}`)
	require.Equal(t, http.StatusCreated, code, other)

	code, got, _ := do(t, b, "GET", "/v1/executions/"+id, readerToken, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, out, got)

	// The execution is on its pool's queue, and only it: the other
	// request made one of its own.
	msgs, err := b.queues["default"].Receive(context.Background(), 10, 0, 0)
	require.NoError(t, err)
	var queued []string
	for _, m := range msgs {
		require.Equal(t, "default", m.Pool)
		queued = append(queued, m.ExecutionID)
	}
	require.ElementsMatch(t, []string{id, other["id"].(string)}, queued, "each execution on the queue once")
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
		{"wrong type", "POST", "/v1/executions", adminToken, `{"package":"a","command":"echo"}`, 400, "invalid_request", `field "command": expected a JSON array, got a JSON string`},
		{"wrong type in a map", "POST", "/v1/executions", adminToken, `{"package":"a","parameters":[]}`, 400, "invalid_request", `field "parameters": expected a JSON object, got a JSON array`},
		{"wrong type in an array", "PUT", "/v1/folders/f/projects/p/references", adminToken, `{"references":[{"environment":1}]}`, 400, "invalid_request", `field "references.environment": expected a string, got a JSON number`},
		{"embedded field", "POST", "/v1/folders/f/environments", adminToken, `{"name":"e","variables":{"v":{"type":1}}}`, 400, "invalid_request", `field "variables.type": expected a string, got a JSON number`},
		{"not a whole number", "POST", "/v1/executions", adminToken, `{"command":["true"],"retries":1.5}`, 400, "invalid_request", `field "retries": expected a whole number, got the number 1.5`},
		{"whole number out of range", "POST", "/v1/executions", adminToken, `{"command":["true"],"retries":9223372036854775808}`, 400, "invalid_request", `field "retries": whole number 9223372036854775808 is out of range`},
		{"number out of range", "POST", "/v1/executions", adminToken, `{"command":["true"],"parameters":{"n":1e400}}`, 400, "invalid_request", `field "parameters": number 1e400 is out of range`},
		{"two objects", "POST", "/v1/executions", adminToken, `{"package":"a","command":["x"]} {}`, 400, "invalid_request", "exactly one object"},
		{"a stray brace after the object", "PUT", "/v1/folders/f/projects/p/bindings", adminToken, `{}}`, 400, "invalid_request", "exactly one object"},
		{"a stray bracket after the object", "POST", "/v1/executions", adminToken, `{"package":"a","command":["x"]} ]`, 400, "invalid_request", "exactly one object"},
		{"null body", "POST", "/v1/executions", adminToken, `null`, 400, "invalid_request", "body is JSON null: send one JSON object"},
		{"null body on a PUT", "PUT", "/v1/folders/f/environments/e", adminToken, ` null `, 400, "invalid_request", "body is JSON null"},
		{"null references", "PUT", "/v1/folders/f/projects/p/references", adminToken, `null`, 400, "invalid_request", "body is JSON null"},
		{"array bindings", "PUT", "/v1/folders/f/projects/p/bindings", adminToken, `[]`, 400, "invalid_request", "body is a JSON array: send one JSON object"},
		{"no definition", "POST", "/v1/executions", adminToken, `{}`, 400, "invalid_request", `of a deployed project`},
		{"both definition and command", "POST", "/v1/executions", adminToken, `{"definition":{},"command":["x"]}`, 400, "invalid_request", "not both"},
		{"definition not an object", "POST", "/v1/executions", adminToken, `{"definition":[1]}`, 400, "invalid_request", "give a JSON object"},
		{"invalid package", "POST", "/v1/executions", adminToken, `{"definition":{"name":"p","tasks":[{"name":"a","type":"nope"}]}}`, 400, "invalid_package", `unknown task type "nope"`},
		{"missing required parameter", "POST", "/v1/executions", adminToken, `{"definition":{"name":"p","parameters":{"date":{"type":"string","required":true}},"tasks":[{"name":"a","type":"sleep","with":{"duration":"0s"}}]}}`, 400, "invalid_package", "parameters.date"},
		{"bad name", "POST", "/v1/executions", adminToken, `{"package":"../x","command":["x"]}`, 400, "invalid_request", `package "../x"`},
		{"bad timeout", "POST", "/v1/executions", adminToken, `{"command":["true"],"timeout":"soon"}`, 400, "invalid_request", `timeout "soon"`},
		{"too many retries", "POST", "/v1/executions", adminToken, `{"command":["true"],"retries":11}`, 400, "invalid_request", "retries 11"},
		{"bad messages limit", "GET", "/v1/executions/01a21404-fe6e-7674-964b-99a66dab3bca/messages?limit=0", readerToken, "", 400, "invalid_request", "limit="},
		{"unknown pool", "POST", "/v1/executions", adminToken, `{"package":"a","pool":"gpu","command":["x"]}`, 400, "invalid_request", `pool "gpu" does not exist`},
		{"too large", "POST", "/v1/executions", adminToken, `{"package":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`, 413, "too_large", "request body over"},
		{"not an id", "GET", "/v1/executions/nope", readerToken, "", 404, "not_found", "not a valid execution id"},
		{"unknown id", "GET", "/v1/executions/01a21404-fe6e-7674-964b-99a66dab3bca", readerToken, "", 404, "not_found", "not found"},
		{"unknown route", "GET", "/v1/nothing", adminToken, "", 404, "not_found", "no route GET /v1/nothing"},
		{"wrong method", "DELETE", "/v1/health", adminToken, "", 405, "method_not_allowed", "allowed: GET"},
		{"bad stats query", "GET", "/v1/stats?package=a/b", readerToken, "", 400, "invalid_request", "package="},
		{"time before 1970", "GET", "/v1/executions?until=0001-01-01T00:00:00Z", readerToken, "", 400, "invalid_request", "between 1970 and 2200"},
		{"time after 2200", "GET", "/v1/executions?since=9999-01-01T00:00:00Z", readerToken, "", 400, "invalid_request", "between 1970 and 2200"},
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

const etlPackage = `
name: load-sales
parameters:
  date: {type: string, required: true}
  batch_size: {type: int, default: 1000}
  api_token: {type: string, sensitive: true}
tasks:
  - name: extract
    type: exec
    with: {command: ["sh", "-c", "echo ${params.date}"]}
`

// A package given as YAML text, its parameters bound and typed, the
// sensitive one never shown.
func TestCreatePackageExecution(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body, err := json.Marshal(map[string]any{
		"folder": "finance", "definition": etlPackage,
		"parameters": map[string]any{"date": "2026-11-25", "api_token": "s3cret-value"},
	})
	require.NoError(t, err)
	code, out, _ := do(t, b, "POST", "/v1/executions", adminToken, string(body))
	require.Equal(t, http.StatusCreated, code, out)
	require.Equal(t, "load-sales", out["package"], "the package's name when none is given")
	params := out["parameters"].(map[string]any)
	require.Equal(t, "***", params["api_token"])
	require.Equal(t, float64(1000), params["batch_size"], "defaults applied")
	raw, err := json.Marshal(out)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "s3cret-value")

	code, got, _ := do(t, b, "GET", "/v1/executions/"+out["id"].(string), readerToken, "")
	require.Equal(t, http.StatusOK, code)
	raw, err = json.Marshal(got)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "s3cret-value")
	require.Equal(t, "***", got["parameters"].(map[string]any)["api_token"])

	// The worker needs the value: it is stored.
	e, err := b.store.Get(context.Background(), out["id"].(string))
	require.NoError(t, err)
	require.Equal(t, "s3cret-value", e.Parameters["api_token"])

	code, page, _ := do(t, b, "GET", "/v1/executions/"+out["id"].(string)+"/messages", readerToken, "")
	require.Equal(t, http.StatusOK, code, page)
	require.Empty(t, page["messages"], "not run yet")
	code, page, _ = do(t, b, "GET", "/v1/executions/"+out["id"].(string)+"/messages?after=nope", readerToken, "")
	require.Equal(t, http.StatusBadRequest, code, page)
}

// Every problem of an invalid package is listed with its location.
func TestInvalidPackageListsEveryProblem(t *testing.T) {
	t.Parallel()
	b := setup(t)
	code, out, _ := do(t, b, "POST", "/v1/executions", adminToken,
		`{"definition":{"name":"p","tasks":[{"name":"a","type":"exec","with":{}},{"name":"b","type":"sleep","after":[{"task":"zz"}],"with":{"duration":"1s"}}]}}`)
	require.Equal(t, http.StatusBadRequest, code)
	problems := out["error"].(map[string]any)["problems"].([]any)
	require.GreaterOrEqual(t, len(problems), 2)
	var lines []string
	for _, p := range problems {
		lines = append(lines, p.(map[string]any)["path"].(string)+": "+p.(map[string]any)["message"].(string))
	}
	all := strings.Join(lines, "\n")
	require.Contains(t, all, `tasks[0] "a".with: `)
	require.Contains(t, all, "command")
	require.Contains(t, all, `tasks[1] "b".after[0]: `)
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
	status, out, _ := do(t, b, "GET", "/v1/stats?folder=f&package=p", readerToken, "")
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, "f", out["folder"])
	require.Equal(t, "default", out["project"])
	require.Equal(t, float64(0), out["counts"].(map[string]any)["succeeded"])
}

// The same Idempotency-Key twice gives one execution and one queued task;
// the same key with another body is a 409.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := uuid.NewString()
	body := `{"pool":"api","package":"idem","command":["true"]}`
	code, first, _ := do(t, b, "POST", "/v1/executions", adminToken, body, "Idempotency-Key", key)
	require.Equal(t, http.StatusCreated, code, first)
	code, again, hdr := do(t, b, "POST", "/v1/executions", adminToken, body, "Idempotency-Key", key)
	require.Equal(t, http.StatusOK, code, again)
	require.Equal(t, "true", hdr.Get("Idempotent-Replayed"))
	require.Equal(t, first["id"], again["id"])

	code, out, _ := do(t, b, "POST", "/v1/executions", adminToken, `{"pool":"api","package":"other","command":["true"]}`, "Idempotency-Key", key)
	require.Equal(t, http.StatusConflict, code, out)
	require.Equal(t, "idempotency_key_reused", out["error"].(map[string]any)["code"])

	code, out, _ = do(t, b, "POST", "/v1/executions", adminToken, body, "Idempotency-Key", "has space")
	require.Equal(t, http.StatusBadRequest, code, out)

	// One message on the queue for it.
	msgs, err := b.queues["api"].Receive(context.Background(), 10, 0, 0)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.Equal(t, first["id"], msgs[0].ExecutionID)
}

func TestListAndStopExecutions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	folder := "f"
	var ids []string
	for i := range 3 {
		code, out, _ := do(t, b, "POST", "/v1/executions", adminToken,
			fmt.Sprintf(`{"folder":%q,"package":"p%d","command":["true"]}`, folder, i%2))
		require.Equal(t, http.StatusCreated, code, out)
		ids = append(ids, out["id"].(string))
	}
	list := func(query string) []string {
		code, out, _ := do(t, b, "GET", "/v1/executions?"+query, readerToken, "")
		require.Equal(t, http.StatusOK, code, out)
		var got []string
		for _, e := range out["executions"].([]any) {
			got = append(got, e.(map[string]any)["id"].(string))
		}
		return got
	}
	require.Equal(t, []string{ids[2], ids[1], ids[0]}, list("folder="+folder))
	require.Equal(t, []string{ids[2], ids[0]}, list("folder="+folder+"&package=p0"))
	require.Empty(t, list("folder="+folder+"&since=2099-01-01T00:00:00Z"), "a since in the future: 200, no executions")
	require.Empty(t, list("since=2099-01-01T00:00:00Z"), "by day too")

	code, out, _ := do(t, b, "POST", "/v1/executions/"+ids[0]+"/stop", readerToken, "")
	require.Equal(t, http.StatusForbidden, code, out)
	code, out, _ = do(t, b, "POST", "/v1/executions/"+ids[0]+"/stop", adminToken, "")
	require.Equal(t, http.StatusAccepted, code, out)
	require.Equal(t, "canceled", out["status"])
	code, out, _ = do(t, b, "POST", "/v1/executions/"+ids[0]+"/stop", adminToken, "")
	require.Equal(t, http.StatusConflict, code, out)
	require.Equal(t, []string{ids[0]}, list("folder="+folder+"&status=canceled"))

	for _, bad := range []string{"status=done", "since=yesterday", "limit=0", "nope=1", "cursor=zz!", "package=a/b",
		"since=2026-11-25T10:00:00Z&until=2026-11-24T10:00:00Z"} {
		code, out, _ := do(t, b, "GET", "/v1/executions?"+bad, readerToken, "")
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", bad, out)
	}
}
