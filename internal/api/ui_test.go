package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The console's files need no token; the API's routes still do.
func TestConsoleIsServedWithoutAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, b.srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := noRedirect.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}

	resp, body := fetch("GET", "/ui/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Contains(t, body, `<script type="module" src="app.js"></script>`)

	resp, body = fetch("GET", "/ui/api.js")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript"))
	require.Contains(t, body, "Authorization = `Bearer", "api.js sends the token")

	resp, _ = fetch("GET", "/ui/nonexistent")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = fetch("POST", "/ui/")
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	for _, path := range []string{"/", "/ui"} {
		resp, _ = fetch("GET", path)
		require.Equal(t, http.StatusFound, resp.StatusCode, path)
		require.Equal(t, "/ui/", resp.Header.Get("Location"), path)
	}

	// Everything else is still the API's: a JSON 404, and a 401 without a token.
	code, out, _ := do(t, b, "POST", "/", "", "{}")
	require.Equal(t, http.StatusNotFound, code, out)
	code, out, _ = do(t, b, "GET", "/v1/workers", "", "")
	require.Equal(t, http.StatusUnauthorized, code, out)
}
