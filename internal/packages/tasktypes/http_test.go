package tasktypes

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/worker/netguard"
	"github.com/scaleout/scaleout/internal/worker/netguard/netguardtest"
)

func TestHTTPCheck(t *testing.T) {
	t.Parallel()
	runCheckCases(t, NewHTTP(), []checkCase{
		{name: "minimal", with: obj{"url": "https://example.test/api"}},
		{name: "every setting", with: obj{
			"method": "post", "url": "http://example.test:8080/x?y=1",
			"headers": obj{"Authorization": "Bearer x", "X-Count": 3.0},
			"body":    obj{"a": list(1.0, 2.0)}, "expect_status": list(200.0, 404.0),
			"timeout": "5s", "max_body": 4096.0,
		}},
		{name: "string body", with: obj{"url": "https://example.test", "body": "plain"}},
		{name: "placeholders everywhere", with: obj{
			"method": "${params.method}", "url": "https://example.test/sales?date=${params.date}",
			"headers": obj{"Authorization": "Bearer ${params.token}"}, "body": "${params.body}",
			"expect_status": list("${params.status}"), "timeout": "${params.timeout}", "max_body": "${params.max}",
		}},
		{name: "url all placeholder", with: obj{"url": "${params.base}/sales", "headers": "${params.headers}"}},
		{name: "url host placeholder", with: obj{"url": "api.${params.domain}"}},

		{name: "no settings", with: nil,
			errs: []string{`with.url: required: the address to call, e.g. "https://example.com/api"`}},
		{name: "unknown method", with: obj{"url": "https://example.test", "method": "GTE"},
			errs: []string{`with.method "GTE": use one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS`}},
		{name: "other scheme", with: obj{"url": "ftp://example.test/file"},
			errs: []string{`with.url "ftp://example.test/file": use an http:// or https:// URL`}},
		{name: "no scheme", with: obj{"url": "example.test/api"},
			errs: []string{`with.url "example.test/api": use an http:// or https:// URL`}},
		{name: "no host", with: obj{"url": "https:///path"},
			errs: []string{`with.url "https:///path": name a host`}},
		{name: "malformed url", with: obj{"url": "http://exa mple.test/"},
			errs: []string{`with.url "http://exa mple.test/": use an http:// or https:// URL`}},
		{name: "placeholder after a wrong scheme", with: obj{"url": "ftp://${params.host}/x"},
			errs: []string{`with.url "ftp://${params.host}/x": use an http:// or https:// URL`}},
		{name: "placeholder after a path without scheme", with: obj{"url": "example.test/${params.path}"},
			errs: []string{`with.url "example.test/${params.path}": start with the scheme`}},
		{name: "url a list", with: obj{"url": list("https://a")},
			errs: []string{`with.url ["https://a"]: want a string, not a list`}},
		{name: "headers a list", with: obj{"url": "https://a", "headers": list("A: b")},
			errs: []string{`with.headers ["A: b"]: want an object`}},
		{name: "header name with a space", with: obj{"url": "https://a", "headers": obj{"X Y": "1"}},
			errs: []string{`with.headers "X Y": not a header name`}},
		{name: "header value with a line break", with: obj{"url": "https://a", "headers": obj{"X": "1\r\nEvil: 2"}},
			errs: []string{`with.headers.X "1\r\nEvil: 2": a header value must not hold a line break`}},
		{name: "status out of range", with: obj{"url": "https://a", "expect_status": list(200.0, 99.0, 600.0)},
			errs: []string{
				`with.expect_status[1] 99: want a whole number from 100 to 599`,
				`with.expect_status[2] 600: want a whole number from 100 to 599`,
			}},
		{name: "timeout without unit", with: obj{"url": "https://a", "timeout": "10"},
			errs: []string{`with.timeout "10": write it as "30s" or "10m"`}},
		{name: "max body too big", with: obj{"url": "https://a", "max_body": 1e12},
			errs: []string{`with.max_body 1000000000000: want a whole number from 0 to 67108864`}},
		{name: "misspelt setting", with: obj{"url": "https://a", "header": obj{}},
			errs: []string{`with.header: unknown setting: did you mean "headers"? (known: body, expect_status, headers, max_body, method, timeout, url)`}},
		{name: "every problem at once", with: obj{"method": "FETCH", "timeout": 30.0, "expect_status": 200.0},
			errs: []string{`with.method "FETCH"`, `with.url: required`, `with.expect_status 200: want a list`, `with.timeout 30:`}},
	})
}

// httpBundle is what httpSetup gives a test.
type httpBundle struct {
	srv *httptest.Server
	// waiting counts requests to /slow that the server holds.
	waiting atomic.Int32
}

// httpSetup returns an http type and a loopback server whose routes
// answer as their names say.
func httpSetup(t *testing.T) (*HTTP, *httpBundle) {
	t.Helper()
	b := &httpBundle{}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Add("X-Multi", "first")
		w.Header().Add("X-Multi", "second")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "query": r.URL.RawQuery, "body": string(body),
			"content_type": r.Header.Get("Content-Type"), "auth": r.Header.Get("Authorization"), "host": r.Host,
		})
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "service down for maintenance\n"+strings.Repeat("x", 500))
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, `{"looks": "like json"}`)
	})
	mux.HandleFunc("/problem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		_, _ = io.WriteString(w, `{"title": "ok"}`)
	})
	mux.HandleFunc("/badjson", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"rows": `)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data": "`+strings.Repeat("y", 100)+`"}`)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		b.waiting.Add(1)
		defer b.waiting.Add(-1)
		<-r.Context().Done()
	})
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return NewHTTP(), b
}

func TestHTTPRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		with      func(base string) obj
		errText   string
		permanent bool
		check     func(t *testing.T, out task.Output, log *fakeLog)
	}{
		{name: "GET with JSON mapped",
			with: func(base string) obj {
				return obj{"url": base + "/echo?date=2024-01-02", "headers": obj{"Authorization": "Bearer t"}}
			},
			check: func(t *testing.T, out task.Output, log *fakeLog) {
				require.Equal(t, 200, out["status"])
				body := out["body"].(map[string]any)
				require.Equal(t, "GET", body["method"])
				require.Equal(t, "date=2024-01-02", body["query"])
				require.Equal(t, "Bearer t", body["auth"])
				headers := out["headers"].(map[string]any)
				require.Equal(t, "first", headers["X-Multi"])
				require.Equal(t, "application/json; charset=utf-8", headers["Content-Type"])
				require.IsType(t, int64(0), out["duration_ms"])
				require.Empty(t, log.Warnings())
			}},
		{name: "object body sent as JSON",
			with: func(base string) obj {
				return obj{"method": "post", "url": base + "/echo", "body": obj{"rows": 3.0, "ids": list("a")}}
			},
			check: func(t *testing.T, out task.Output, _ *fakeLog) {
				body := out["body"].(map[string]any)
				require.Equal(t, "POST", body["method"])
				require.Equal(t, "application/json", body["content_type"])
				require.JSONEq(t, `{"rows": 3, "ids": ["a"]}`, body["body"].(string))
			}},
		{name: "string body sent as it is, own content type and host",
			with: func(base string) obj {
				return obj{"method": "PUT", "url": base + "/echo", "body": "a,b\n1,2\n",
					"headers": obj{"Content-Type": "text/csv", "Host": "api.example.test"}}
			},
			check: func(t *testing.T, out task.Output, _ *fakeLog) {
				body := out["body"].(map[string]any)
				require.Equal(t, "a,b\n1,2\n", body["body"])
				require.Equal(t, "text/csv", body["content_type"])
				require.Equal(t, "api.example.test", body["host"])
			}},
		{name: "HEAD has no body",
			with: func(base string) obj { return obj{"method": "HEAD", "url": base + "/echo"} },
			check: func(t *testing.T, out task.Output, _ *fakeLog) {
				require.Equal(t, 200, out["status"])
				require.Contains(t, out, "body")
				require.Empty(t, out["body"])
			}},
		{name: "text kept as text",
			with: func(base string) obj { return obj{"url": base + "/text"} },
			check: func(t *testing.T, out task.Output, _ *fakeLog) {
				require.Equal(t, `{"looks": "like json"}`, out["body"])
			}},
		{name: "+json parsed",
			with: func(base string) obj { return obj{"url": base + "/problem"} },
			check: func(t *testing.T, out task.Output, _ *fakeLog) {
				require.Equal(t, map[string]any{"title": "ok"}, out["body"])
			}},
		{name: "JSON that does not parse kept as text with a warning",
			with: func(base string) obj { return obj{"url": base + "/badjson"} },
			check: func(t *testing.T, out task.Output, log *fakeLog) {
				require.Equal(t, `{"rows": `, out["body"])
				require.Len(t, log.Warnings(), 1)
				require.Contains(t, log.Warnings()[0], "says it is JSON but does not parse")
			}},
		{name: "body cut at max_body",
			with: func(base string) obj { return obj{"url": base + "/big", "max_body": 20.0} },
			check: func(t *testing.T, out task.Output, log *fakeLog) {
				require.Equal(t, `{"data": "yyyyyyyyyy`, out["body"])
				require.Len(t, log.Warnings(), 1)
				require.Contains(t, log.Warnings()[0], "longer than 20 bytes (with.max_body)")
			}},
		{name: "unexpected status",
			with:    func(base string) obj { return obj{"url": base + "/status/503"} },
			errText: `/status/503: unexpected status 503 Service Unavailable; want 2xx (with.expect_status); body starts: "service down for maintenance\nxxx`,
			check: func(t *testing.T, out task.Output, _ *fakeLog) {
				require.Equal(t, 503, out["status"])
			}},
		{name: "expected status other than 2xx",
			with: func(base string) obj { return obj{"url": base + "/status/404", "expect_status": list(404.0)} },
			check: func(t *testing.T, out task.Output, _ *fakeLog) {
				require.Equal(t, 404, out["status"])
			}},
		{name: "2xx not expected when others listed",
			with:    func(base string) obj { return obj{"url": base + "/status/200", "expect_status": list(201.0, 202.0)} },
			errText: "unexpected status 200 OK; want 201, 202"},
		{name: "timeout",
			with:    func(base string) obj { return obj{"url": base + "/slow", "timeout": "50ms"} },
			errText: "/slow timed out after 50ms (with.timeout)"},
		{name: "connection refused",
			with:    func(string) obj { return obj{"url": "http://127.0.0.1:1/nothing"} },
			errText: "GET http://127.0.0.1:1/nothing: dial tcp"},
		{name: "malformed url",
			with:    func(string) obj { return obj{"url": "ftp://example.test"} },
			errText: `settings as resolved for the run: with.url "ftp://example.test": use an http:// or https:// URL`, permanent: true},
		{name: "status resolved wrong",
			with:    func(base string) obj { return obj{"url": base + "/echo", "expect_status": list("ok")} },
			errText: `with.expect_status[0] "ok": want a whole number from 100 to 599`, permanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, b := httpSetup(t)
			in, log := input(tc.with(b.srv.URL))
			out, err := h.Run(context.Background(), in)
			if tc.errText == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.errText)
				require.Equal(t, tc.permanent, errorsIsPermanent(err), "permanent: %v", err)
			}
			if tc.check != nil {
				tc.check(t, out, log)
			}
		})
	}
}

func TestHTTPCancel(t *testing.T) {
	t.Parallel()
	h, b := httpSetup(t)
	ctx, cancel := context.WithCancel(context.Background())
	in, _ := input(obj{"url": b.srv.URL + "/slow"})
	done := make(chan error, 1)
	go func() {
		_, err := h.Run(ctx, in)
		done <- err
	}()
	require.Eventually(t, func() bool { return b.waiting.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, errorsIsPermanent(err))
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// http tasks never reach the metadata and credentials endpoints: not by
// address, not by a name that resolves to one, not through a redirect
// from a server they may reach. They fail at once, not retried, saying
// why; loopback stays reachable under the default policy.
func TestHTTPRefusesMetadataAddresses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-imds":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/security-credentials/", http.StatusFound)
		case "/to-ecs":
			http.Redirect(w, r, "http://ecs.example.test/v2/credentials/x", http.StatusFound)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	h := NewHTTPWith(HTTPOptions{Resolver: netguardtest.Resolver(map[string][]string{
		"imds.example.test": {"169.254.169.254"},
		"ecs.example.test":  {"169.254.170.2"},
	})})
	for _, tc := range []struct{ url, want string }{
		{"http://169.254.169.254/latest/meta-data/", "connection to 169.254.169.254 refused: the address of the EC2 instance metadata service"},
		{"http://169.254.170.2/v2/credentials/x", "connection to 169.254.170.2 refused: the address of the ECS credentials"},
		{"http://[fd00:ec2::254]/latest/meta-data/", "connection to fd00:ec2::254 refused"},
		{"http://imds.example.test/latest/meta-data/", "connection to 169.254.169.254 refused"},
		{"http://ecs.example.test/v2/credentials/x", "connection to 169.254.170.2 refused"},
		{srv.URL + "/to-imds", "(redirected to http://169.254.169.254/latest/meta-data/iam/security-credentials/): connection to 169.254.169.254 refused"},
		{srv.URL + "/to-ecs", "(redirected to http://ecs.example.test/v2/credentials/x): connection to 169.254.170.2 refused"},
	} {
		out, err := h.Run(context.Background(), task.Input{With: obj{"url": tc.url, "timeout": "5s"}})
		require.Error(t, err, tc.url)
		require.Nil(t, out, tc.url)
		require.ErrorIs(t, err, task.ErrPermanent, tc.url)
		require.Contains(t, err.Error(), tc.want, tc.url)
		require.Contains(t, err.Error(), "packages may not reach it", tc.url)
	}
	out, err := h.Run(context.Background(), task.Input{With: obj{"url": srv.URL + "/"}})
	require.NoError(t, err)
	require.Equal(t, 200, out["status"])

	// Under the public policy loopback is refused too.
	_, err = NewHTTPWith(HTTPOptions{Network: netguard.Public}).Run(context.Background(), task.Input{With: obj{"url": srv.URL + "/"}})
	require.ErrorIs(t, err, task.ErrPermanent)
	require.ErrorContains(t, err, "SCALEOUT_TASK_NETWORK=public")
}
