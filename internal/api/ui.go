package api

import (
	"net/http"
	"strings"

	"github.com/scaleout/scaleout/internal/api/webui"
)

// console is the web console (internal/api/webui) at /ui/. Its files carry no
// data, so they are served to anyone; everything the page shows comes
// from the authenticated routes. It is not a Route: Routes are the API
// that the OpenAPI document describes.
var console = http.StripPrefix("/ui", webui.Handler())

// serveConsole answers GET /ui/... with the console's files and redirects
// GET / and GET /ui to /ui/. It reports whether the request was one of
// those; any other request is the API's.
func serveConsole(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/ui/"):
		console.ServeHTTP(w, r)
	case (p == "/" || p == "/ui") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		http.Redirect(w, r, "/ui/", http.StatusFound)
	default:
		return false
	}
	return true
}
