package webui_test

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api/webui"
)

func get(t *testing.T, h http.Handler, method, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// staticFiles are the console's files on disk, by name.
func staticFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir("static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(strings.TrimPrefix(p, "static"+string(filepath.Separator)))] = string(b)
		return err
	}))
	require.Contains(t, out, "index.html")
	return out
}

func TestServesEveryFileWithItsTypeAndHeaders(t *testing.T) {
	t.Parallel()
	h := webui.Handler()
	types := map[string]string{".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
	for name, content := range staticFiles(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp := get(t, h, "GET", "/"+name)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, content, body(t, resp))
			require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), types[filepath.Ext(name)]), resp.Header.Get("Content-Type"))
			require.Equal(t, webui.ContentSecurityPolicy, resp.Header.Get("Content-Security-Policy"))
			require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
			require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))

			// A browser that has the file revalidates it for nothing.
			etag := resp.Header.Get("ETag")
			require.NotEmpty(t, etag)
			again := get(t, h, "GET", "/"+name, "If-None-Match", etag)
			require.Equal(t, http.StatusNotModified, again.StatusCode)
		})
	}
}

func TestRootIsIndex(t *testing.T) {
	t.Parallel()
	resp := get(t, webui.Handler(), "GET", "/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body(t, resp), `<script type="module" src="app.js"></script>`)
	require.Contains(t, webui.ContentSecurityPolicy, "default-src 'self'")
}

func TestUnknownPathsAndMethods(t *testing.T) {
	t.Parallel()
	h := webui.Handler()
	for _, path := range []string{"/nonexistent", "/static/index.html", "/../go.mod", "/index.html/", "/.", "/app.js.map"} {
		resp := get(t, h, "GET", path)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
		require.Equal(t, webui.ContentSecurityPolicy, resp.Header.Get("Content-Security-Policy"), path)
	}
	for _, method := range []string{"POST", "PUT", "DELETE"} {
		resp := get(t, h, method, "/index.html")
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, method)
		require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	}
	resp := get(t, h, "HEAD", "/index.html")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, body(t, resp))
}

var (
	anyURL   = regexp.MustCompile(`https?://[^\s"'<>)]+`)
	localRef = regexp.MustCompile(`(?:src|href)="([^"#:]+)"`)
	imports  = regexp.MustCompile(`(?m)^import .* from "\./([^"]+)";$`)
)

// The page loads nothing from the internet, runs no inline script, and
// puts data in the page as text only.
func TestFilesAreSelfContained(t *testing.T) {
	t.Parallel()
	files := staticFiles(t)
	for name, content := range files {
		for _, u := range anyURL.FindAllString(content, -1) {
			require.Equal(t, "http://www.w3.org/2000/svg", u, "%s names a URL outside the console: the page must load nothing from the internet", name)
		}
		for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage"} {
			require.NotContains(t, content, banned, "%s: data goes in the page as text only, and the token only in sessionStorage", name)
		}
		for _, m := range imports.FindAllStringSubmatch(content, -1) {
			require.Contains(t, files, m[1], "%s imports a module the console does not have", name)
		}
	}
	index := files["index.html"]
	for _, m := range localRef.FindAllStringSubmatch(index, -1) {
		require.Contains(t, files, m[1], "index.html refers to a file the console does not have")
	}
	require.NotRegexp(t, `<script(?:[^>]*)>[^<]`, index, "no inline script: the CSP refuses it")
	require.NotRegexp(t, `\sstyle=`, index, "no style attribute: the CSP refuses it")
	require.NotRegexp(t, `\son[a-z]+=`, index, "no inline event handler: the CSP refuses it")
}

func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("GET /ui/", http.StripPrefix("/ui", webui.Handler()))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Header().Get("Content-Security-Policy"))
	// Output:
	// 200 text/html; charset=utf-8
	// default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'
}
