package tests

import (
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/api"
	"github.com/scaleout/scaleout/pkg/api/openapitest"
)

// served holds, for the host of each API a test started, the validator of
// the OpenAPI document that API serves. Every call() to an API is checked
// against it, so the document and the answers cannot drift apart.
var served sync.Map // host -> *openapitest.Validator

// prepareOpenAPI builds the validator of the document this tree embeds,
// the one an API built from it serves, before any API starts: building it
// is a CPU burst (about half a second) that is better not spent while a
// just-started worker renews its first leases. checkAPI then finds it built.
func prepareOpenAPI(t *testing.T) {
	t.Helper()
	_, err := openapitest.New(api.OpenAPI)
	require.NoError(t, err, "the OpenAPI document")
}

// checkAPI reads the OpenAPI document the API at base serves and checks
// every later exchange with that API against it.
func checkAPI(t *testing.T, base, bearer string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/v1/openapi.json", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	doc, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /v1/openapi.json: %s", doc)
	v, err := openapitest.New(doc)
	require.NoError(t, err, "the served OpenAPI document")
	u, err := url.Parse(base)
	require.NoError(t, err)
	served.Store(u.Host, v)
}

// apiClient is an HTTP client for the API at rawURL whose every exchange is
// checked against the document that API serves (see checkAPI): an answer
// that breaks it fails t.
func apiClient(t testing.TB, rawURL string) *http.Client {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	v, ok := served.Load(u.Host)
	if !ok {
		t.Fatalf("no OpenAPI document for the API at %s: start it with startDev, or call checkAPI", u.Host)
	}
	return &http.Client{Transport: openapitest.Transport(t, v.(*openapitest.Validator), nil)}
}
