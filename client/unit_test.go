package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

// headerSink is a local HTTP server that only records the headers of what
// it is sent and answers an empty worker list: enough to see what a client
// sends, without standing in for the API.
func headerSink(t *testing.T) (*httptest.Server, *atomic.Pointer[http.Header]) {
	t.Helper()
	var seen atomic.Pointer[http.Header]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		seen.Store(&h)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"workers": []}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestSigV4SignsRequests(t *testing.T) {
	t.Parallel()
	srv, seen := headerSink(t)
	signer := &client.SigV4{
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session-token"),
		Region:      "eu-west-1",
		Now:         func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) },
	}
	c, err := client.New(client.Options{Endpoint: srv.URL, Token: "not-sent-when-signing", Signer: signer})
	require.NoError(t, err)
	ws, err := c.Workers(t.Context())
	require.NoError(t, err)
	require.Empty(t, ws)

	h := *seen.Load()
	authz := h.Get("Authorization")
	require.True(t, strings.HasPrefix(authz, "AWS4-HMAC-SHA256 "), authz)
	require.Contains(t, authz, "Credential=AKIDEXAMPLE/20261125/eu-west-1/execute-api/aws4_request")
	require.Contains(t, authz, "SignedHeaders=")
	require.Equal(t, "20261125T100000Z", h.Get("X-Amz-Date"))
	require.Equal(t, "session-token", h.Get("X-Amz-Security-Token"))
	require.NotContains(t, authz, "Bearer")
}

func TestBearerTokenSent(t *testing.T) {
	t.Parallel()
	srv, seen := headerSink(t)
	c, err := client.New(client.Options{Endpoint: srv.URL + "/", Token: "tok-0123456789abcdef"})
	require.NoError(t, err)
	_, err = c.Workers(t.Context())
	require.NoError(t, err)
	require.Equal(t, "Bearer tok-0123456789abcdef", (*seen.Load()).Get("Authorization"))
}

// NewSigV4 takes the user's AWS configuration; with no region configured,
// an execute-api endpoint's host names it.
func TestNewSigV4Region(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	ctx := context.Background()
	s, err := client.NewSigV4(ctx, "https://abc123.execute-api.ap-southeast-2.amazonaws.com")
	require.NoError(t, err)
	require.Equal(t, "ap-southeast-2", s.Region)
	_, err = client.NewSigV4(ctx, "http://127.0.0.1:8080")
	require.ErrorContains(t, err, "no AWS region")
	s, err = client.NewSigV4(ctx, "http://127.0.0.1:8080", config.WithRegion("us-west-2"))
	require.NoError(t, err)
	require.Equal(t, "us-west-2", s.Region)
}

func TestReadBundle(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"hello.yaml": {Data: []byte("name: greet\ntasks: []\n")},
		"load.yml":   {Data: []byte("tasks: []\n")},
		"other.json": {Data: []byte(`{"name": "other", "tasks": []}`)},
		"project.yaml": {Data: []byte("parameters:\n  date: {type: string, required: true}\n" +
			"connections:\n  dw: {kind: postgres, host: db, port: 5432, user: etl, password: \"${params.pw}\"}\n")},
		"sql/load.sql":      {Data: []byte("select 1;\n")},
		"README.md":         {Data: []byte("# notes\n")},
		".git/config":       {Data: []byte("[core]\n")},
		"sql/.hidden.sql":   {Data: []byte("x")},
		"nested/pkg.yaml":   {Data: []byte("a file, not a package: only the top holds packages\n")},
		".scaleout-ignored": {Data: []byte("x")},
	}
	b, err := client.ReadBundle(fsys)
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"greet": "name: greet\ntasks: []\n",
		"load":  "tasks: []\n",
		"other": `{"name": "other", "tasks": []}`,
	}, b.Packages)
	require.Equal(t, map[string]pkgfile.Parameter{"date": {Type: pkgfile.String, Required: true}}, b.Parameters)
	require.Equal(t, map[string]pkgfile.Connection{"dw": {Kind: "postgres", Host: "db", Port: "5432", User: "etl", Password: "${params.pw}"}},
		b.Connections, "project connections, the port's number kept as text")
	require.Equal(t, map[string]string{
		"sql/load.sql":    "select 1;\n",
		"README.md":       "# notes\n",
		"nested/pkg.yaml": "a file, not a package: only the top holds packages\n",
	}, b.Files)

	_, err = client.ReadBundle(fstest.MapFS{"a.yaml": {Data: []byte("name: x\n")}, "b.yaml": {Data: []byte("name: x\n")}})
	require.ErrorContains(t, err, `both hold package "x"`)
	_, err = client.ReadBundle(fstest.MapFS{"notes.txt": {Data: []byte("x")}})
	require.ErrorContains(t, err, "no package files")
	_, err = client.ReadBundle(fstest.MapFS{"a.yaml": {Data: []byte("tasks: []\n")}, "project.yaml": {Data: []byte("name: p\n")}})
	require.ErrorContains(t, err, `unknown field "name"`)
	_, err = client.ReadBundle(fstest.MapFS{"a.yaml": {Data: []byte("tasks: []\n")},
		"project.yaml": {Data: []byte("parameters:\n  d: {type: string, requird: true}\n")}})
	require.ErrorContains(t, err, "requird")
	_, err = client.ReadBundle(fstest.MapFS{"a.yaml": {Data: []byte("tasks: []\n")},
		"project.yaml": {Data: []byte("connections:\n  dw: {kind: postgres, hots: db}\n")}})
	require.ErrorContains(t, err, "connections: write")
	require.ErrorContains(t, err, "hots")
}

// Answers that do not come from Scaleout (a gateway, a proxy) still make
// an *Error that says what happened; reads are retried on 503, writes are
// not.
func TestForeignErrorsAndRetries(t *testing.T) {
	t.Parallel()
	var gets, posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/workers" && gets.Add(1) <= 2:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "<html>busy</html>", http.StatusServiceUnavailable)
		case r.URL.Path == "/v1/workers":
			_, _ = w.Write([]byte(`{"workers": []}`))
		case r.URL.Path == "/v1/dashboard":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"Forbidden"}`))
		default:
			posts.Add(1)
			http.Error(w, "<html>busy</html>", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(client.Options{Endpoint: srv.URL, Token: "t"})
	require.NoError(t, err)

	_, err = c.Workers(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 3, gets.Load(), "two 503s, then the answer")

	_, err = c.StopExecution(t.Context(), "01a21491-44d5-72a9-a368-9fc28c6fb224")
	require.ErrorIs(t, err, client.ErrUnavailable)
	require.ErrorContains(t, err, "Service Unavailable: <html>busy</html>")
	require.EqualValues(t, 1, posts.Load(), "a write is sent once")

	_, err = c.Dashboard(t.Context(), 0)
	require.ErrorIs(t, err, client.ErrForbidden)
	require.ErrorContains(t, err, "SigV4 signature was refused")
}
