package openapitest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/api"
	"github.com/scaleout/scaleout/pkg/api/openapitest"
)

// example is the document's example answer of an operation.
func example(t *testing.T, path, method, code string) map[string]any {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Example map[string]any `json:"example"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(api.OpenAPI, &doc))
	ex := doc.Paths[path][method].Responses[code].Content["application/json"].Example
	require.NotNil(t, ex, "%s %s %s has an example", method, path, code)
	return ex
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

type exchange struct {
	method, path, reqType, reqBody string
	status                         int
	respType, respBody             string
}

func check(t *testing.T, v *openapitest.Validator, x exchange) []string {
	t.Helper()
	req := httptest.NewRequest(x.method, "http://127.0.0.1:8080"+x.path, strings.NewReader(x.reqBody))
	req.Header.Set("Authorization", "Bearer some-token-0123456789")
	if x.reqType != "" {
		req.Header.Set("Content-Type", x.reqType)
	}
	resp := &http.Response{StatusCode: x.status, Header: http.Header{}}
	if x.respType != "" {
		resp.Header.Set("Content-Type", x.respType)
	}
	return v.Check(req, []byte(x.reqBody), resp, []byte(x.respBody))
}

// The validator, on the API's document, passes what the document allows
// and catches what it does not: a missing required property, a null where
// an array is required, an undeclared status code or content type, and a
// request body the API should not have accepted.
func TestCheckCatchesDrift(t *testing.T) {
	t.Parallel()
	v, err := openapitest.New(api.OpenAPI)
	require.NoError(t, err)

	stats := example(t, "/v1/stats", "get", "200")
	missingCount := example(t, "/v1/stats", "get", "200")
	delete(missingCount["counts"].(map[string]any), "stopping")
	page := example(t, "/v1/executions", "get", "200")
	nullPage := map[string]any{"executions": nil}
	execution := example(t, "/v1/executions", "post", "201")
	noStatus := example(t, "/v1/executions", "post", "201")
	delete(noStatus, "status")
	const run = `{"package":"hello","command":["sh","-c","echo hi"]}`

	for name, tc := range map[string]struct {
		x    exchange
		want string // "" when the exchange agrees with the document
	}{
		"stats as documented": {exchange{"GET", "/v1/stats?package=hello", "", "", 200, "application/json", jsonOf(t, stats)}, ""},
		"a count left out":    {exchange{"GET", "/v1/stats", "", "", 200, "application/json", jsonOf(t, missingCount)}, "stopping"},
		"a page":              {exchange{"GET", "/v1/executions", "", "", 200, "application/json", jsonOf(t, page)}, ""},
		"an empty page":       {exchange{"GET", "/v1/executions", "", "", 200, "application/json", `{"executions":[]}`}, ""},
		"a null page":         {exchange{"GET", "/v1/executions", "", "", 200, "application/json", jsonOf(t, nullPage)}, "executions"},
		"a number for a string": {exchange{"GET", "/v1/health", "", "", 200, "application/json", `{"status":1}`},
			"status"},
		"a property not in the schema": {exchange{"GET", "/v1/health", "", "", 200, "application/json", `{"status":"ok","extra":true}`},
			"extra"},
		"a status not declared": {exchange{"GET", "/v1/health", "", "", 418, "application/json", `{"status":"ok"}`}, "418"},
		"a content type not declared": {exchange{"GET", "/v1/health", "", "", 200, "text/plain", `ok`},
			"text/plain"},
		"not JSON": {exchange{"GET", "/v1/health", "", "", 200, "application/json", `{"status":`}, "cannot be decoded"},
		"a created execution": {exchange{"POST", "/v1/executions", "application/json", run, 201, "application/json", jsonOf(t, execution)},
			""},
		"a created execution without status": {exchange{"POST", "/v1/executions", "application/json", run, 201, "application/json",
			jsonOf(t, noStatus)}, "status"},
		"curl -d's form type, with JSON": {exchange{"POST", "/v1/executions", "application/x-www-form-urlencoded", run, 201,
			"application/json", jsonOf(t, execution)}, ""},
		"accepted with an unknown field": {exchange{"POST", "/v1/executions", "application/json", `{"package":"hello","nope":1}`, 201,
			"application/json", jsonOf(t, execution)}, "nope"},
		"accepted under the form type with an unknown field": {exchange{"POST", "/v1/executions", "application/x-www-form-urlencoded",
			`{"package":"hello","nope":1}`, 201, "application/json", jsonOf(t, execution)}, "nope"},
		"accepted as text/plain": {exchange{"POST", "/v1/executions", "text/plain", run, 201, "application/json", jsonOf(t, execution)},
			"text/plain"},
		"a refusal of a bad request": {exchange{"POST", "/v1/executions", "application/json", `{"package":"hello","nope":1}`, 400,
			"application/json", `{"error":{"code":"bad_request","message":"json: unknown field \"nope\""}}`}, ""},
		"an error without its message": {exchange{"POST", "/v1/executions", "application/json", `{}`, 400,
			"application/json", `{"error":{"code":"bad_request"}}`}, "message"},
		"no Content-Type, read as JSON": {exchange{"POST", "/v1/executions", "", run, 201, "application/json", jsonOf(t, execution)},
			""},
		"no Content-Type, accepted with an unknown field": {exchange{"POST", "/v1/executions", "", `{"package":"hello","nope":1}`, 201,
			"application/json", jsonOf(t, execution)}, "nope"},
		"a body the API ignores": {exchange{"GET", "/v1/health", "application/json", `{}`, 200, "application/json", `{"status":"ok"}`},
			""},
		"an unknown route, refused": {exchange{"GET", "/v1/nothing", "", "", 404, "application/json",
			`{"error":{"code":"not_found","message":"no such route"}}`}, ""},
		"a wrong method, refused": {exchange{"DELETE", "/v1/health", "", "", 405, "application/json",
			`{"error":{"code":"method_not_allowed","message":"use GET"}}`}, ""},
		"an undocumented route that answers": {exchange{"GET", "/v1/nothing", "", "", 200, "application/json", `{}`},
			"a route the document does not have"},
		"outside the API": {exchange{"GET", "/ui/app.js", "", "", 200, "text/javascript", `let x`}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			problems := check(t, v, tc.x)
			if tc.want == "" {
				require.Empty(t, problems)
				return
			}
			require.NotEmpty(t, problems, "the validator lets it pass")
			require.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}

// recorder is a testing.TB that keeps what Errorf reports.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// The transport fails the test that made a request whose answer breaks the
// document, and hands the body on unchanged.
func TestTransportFailsTheTest(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/health" {
			_, _ = w.Write([]byte(`{"status":"ok"}`))
			return
		}
		_, _ = w.Write([]byte(`{"executions":null}`))
	}))
	t.Cleanup(srv.Close)
	v, err := openapitest.New(api.OpenAPI)
	require.NoError(t, err)
	rec := &recorder{TB: t}
	client := &http.Client{Transport: openapitest.Transport(rec, v, nil)}

	for path, want := range map[string]string{"/v1/health": `{"status":"ok"}`, "/v1/executions": `{"executions":null}`} {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer some-token-0123456789")
		resp, err := client.Do(req)
		require.NoError(t, err)
		var body strings.Builder
		_, err = fmt.Fprint(&body, readAll(t, resp))
		require.NoError(t, err)
		require.Equal(t, want, body.String())
	}
	require.Len(t, rec.errs, 1, "only the null page is reported: %q", rec.errs)
	require.Contains(t, rec.errs[0], "GET /v1/executions answered 200, which breaks the OpenAPI document")
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	_, err := io.Copy(&b, resp.Body)
	require.NoError(t, err)
	return b.String()
}
