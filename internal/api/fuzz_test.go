package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequests sends arbitrary bodies, query strings and keys to the routes
// that decode input: no panic, and never a 5xx for a client's mistake.
func FuzzRequests(f *testing.F) {
	for _, seed := range []struct{ route, query, body string }{
		{"create", "", `{"package":"a","command":["true"]}`},
		{"create", "", `{"definition":"name: x\ntasks: [{name: a, type: sleep, with: {duration: 0s}}]"}`},
		{"create", "", `{"definition":{"name":"x","parameters":{"n":{"type":"int"}},"tasks":[]},"parameters":{"n":"x"}}`},
		{"create", "", `{"definition":{"name":"x","tasks":[{"name":"a","type":"exec","with":{"command":"${"}}]}}`},
		{"create", "", `{"package":`},
		{"create", "", `[]`},
		{"list", "folder=a&status=running&limit=5", ""},
		{"list", "cursor=eyJkIjoiMjAyNi0xMS0yNSJ9", ""},
		{"list", "since=2026-11-25T00:00:00Z", ""},
		{"messages", "after=1.2&limit=3", ""},
		{"stats", "package=a&folder=b", ""},
	} {
		f.Add(seed.route, seed.query, seed.body)
	}
	b := setup(f)
	f.Fuzz(func(t *testing.T, route, query, body string) {
		var (
			req *http.Request
			err error
		)
		switch route {
		case "create":
			req, err = http.NewRequest("POST", "/v1/executions", strings.NewReader(body))
			if err == nil && !strings.ContainsAny(query, "\r\n\x00") {
				req.Header.Set("Idempotency-Key", query)
			}
		case "list":
			req, err = http.NewRequest("GET", "/v1/executions?"+query, nil)
		case "messages":
			req, err = http.NewRequest("GET", "/v1/executions/01a21404-fe6e-7674-964b-99a66dab3bca/messages?"+query, nil)
		case "stats":
			req, err = http.NewRequest("GET", "/v1/stats?"+query, nil)
		default:
			return
		}
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		b.server.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s body %q: %d %s", req.Method, req.URL.Path, query, body, rec.Code, rec.Body.String())
		}
	})
}
