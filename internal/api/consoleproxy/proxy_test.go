package consoleproxy_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/api/auth"
	"github.com/scaleout/scaleout/internal/api/consoleproxy"
	"github.com/scaleout/scaleout/internal/testkit/memapi"
)

// startAPI runs the HTTP API (console included) on in-memory adapters and
// returns its base URL; token is an admin's.
func startAPI(t *testing.T, token string) string {
	t.Helper()
	authn, err := auth.NewBearerTokens(map[string]auth.Principal{token: {Name: "ops", Role: auth.Admin}})
	require.NoError(t, err)
	deps, _ := memapi.Deps(t, authn, "default")
	s, err := api.New(deps)
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}

// serve runs the proxy on a loopback port and returns its base URL.
func serve(t *testing.T, o consoleproxy.Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	o.Listen = ln.Addr().String()
	h, err := consoleproxy.New(o)
	require.NoError(t, err)
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + o.Listen
}

func do(t *testing.T, method, url string, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The console and the API (the real handler, on in-memory adapters)
// through the proxy with a token: the page's calls need none.
func TestProxyToTheAPIWithAToken(t *testing.T) {
	t.Parallel()
	const token = "admin-token-0123456789"
	base := serve(t, consoleproxy.Options{API: startAPI(t, token), Token: token})

	resp, body := do(t, "GET", base+"/ui/", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "<title>")
	require.NotEmpty(t, resp.Header.Get("Content-Security-Policy"))

	resp, body = do(t, "GET", base+"/v1/workers", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var workers struct {
		Workers []json.RawMessage `json:"workers"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &workers))

	// A wrong token from the browser is dropped: the proxy's is used.
	resp, _ = do(t, "GET", base+"/v1/workers", "", map[string]string{"Authorization": "Bearer wrong"})
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Changes from the page go through; the API's answers come back as is.
	resp, body = do(t, "POST", base+"/v1/executions", `{"package":"via-proxy","command":["true"]}`,
		map[string]string{"Content-Type": "application/json", "Origin": base})
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	resp, body = do(t, "POST", base+"/v1/executions", `{"package":"via-proxy"}`, map[string]string{"Content-Type": "application/json"})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	require.Contains(t, body, `"error"`)

	resp, _ = do(t, "GET", base+"/", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "/ leads to the console")
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "session", Source: "test"}, nil
}

// With SigV4 each request is signed for execute-api with the user's
// credentials; the browser's own credentials never reach the API.
func TestProxySignsWithSigV4(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []*http.Request
	var bodies []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen, bodies = append(seen, r), append(bodies, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"workers":[]}`)
	}))
	defer upstream.Close()
	base := serve(t, consoleproxy.Options{API: upstream.URL, Signer: &client.SigV4{Credentials: staticCreds{}, Region: "eu-west-1"}})

	resp, _ := do(t, "GET", base+"/v1/workers?pool=etl", "", map[string]string{"Authorization": "Bearer from-the-page", "Cookie": "session=1"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = do(t, "POST", base+"/v1/workers/w1/disable", `{"why":"maintenance"}`, map[string]string{"Origin": base})
	require.Equal(t, http.StatusOK, resp.StatusCode)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2)
	for _, r := range seen {
		auth := r.Header.Get("Authorization")
		require.True(t, strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), auth)
		require.Contains(t, auth, "/eu-west-1/execute-api/aws4_request")
		require.Equal(t, "session", r.Header.Get("X-Amz-Security-Token"))
		require.Empty(t, r.Header.Get("Cookie"))
	}
	require.Equal(t, "/v1/workers", seen[0].URL.Path)
	require.Equal(t, "pool=etl", seen[0].URL.RawQuery)
	require.Equal(t, `{"why":"maintenance"}`, bodies[1], "the body is forwarded as signed")
}

// The proxy holds the user's access: loopback only, its own Host only,
// changes from its own page only.
func TestProxyGuardsTheUsersAccess(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer upstream.Close()
	base := serve(t, consoleproxy.Options{API: upstream.URL, Token: "t"})

	resp, body := do(t, "GET", base+"/v1/workers", "", map[string]string{"Host": "evil.example:80"})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a DNS-rebound page names another host")
	require.Contains(t, body, "answers requests to")
	resp, _ = do(t, "GET", base+"/v1/workers", "", map[string]string{"Host": "localhost:" + base[strings.LastIndex(base, ":")+1:]})
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "localhost names the loopback address too")

	resp, body = do(t, "POST", base+"/v1/workers/w1/disable", "", map[string]string{"Origin": "https://evil.example"})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no cross-site changes")
	require.Contains(t, body, "its own page only")

	for _, tc := range []struct {
		o    consoleproxy.Options
		want string
	}{
		{consoleproxy.Options{API: upstream.URL, Token: "t", Listen: "0.0.0.0:8081"}, "loopback only"},
		{consoleproxy.Options{API: upstream.URL, Listen: "127.0.0.1:8081"}, "a token or a signer"},
		{consoleproxy.Options{API: "execute-api", Token: "t", Listen: "127.0.0.1:8081"}, "base URL"},
	} {
		_, err := consoleproxy.New(tc.o)
		require.ErrorContains(t, err, tc.want)
	}
}
