package tasktypes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/worker/netguard"
)

// Defaults and limits of the http type.
const (
	DefaultHTTPTimeout = 30 * time.Second
	DefaultMaxBody     = 1 << 20
	MaxMaxBody         = 64 << 20
)

// Methods are the HTTP methods an http task may use.
var Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// HTTP is the http task type: it sends one request.
//
// Settings (with):
//
//	method         optional  one of Methods; default GET
//	url            required  an http:// or https:// URL
//	headers        optional  object: header name → value
//	body           optional  a string is sent as it is; an object or list is sent as JSON,
//	                         with Content-Type application/json unless headers set one
//	expect_status  optional  list of statuses that mean success; default any 2xx
//	timeout        optional  duration for the whole exchange; default "30s"
//	max_body       optional  bytes of the response body read; default 1048576
//
// Output: status (int), headers (object: each header's first value, names
// as Go writes them, e.g. "Content-Type"), body (parsed when the response's
// Content-Type is JSON, application/json or */*+json, else a string), and
// duration_ms. A body longer than max_body is cut, kept as a string, and
// a warning says so.
//
// An unexpected status, a network error and a timeout are errors that a
// retry may fix (the message has the status and the start of the body); a
// malformed url and settings that resolve to wrong values are
// task.ErrPermanent.
//
// The client NewHTTP and NewHTTPWith build connects only where its network
// policy (package netguard) allows, checked on the address each connection
// dials, after name resolution and on every redirect: never to a
// link-local address, where the instance metadata service (169.254.169.254,
// fd00:ec2::254) and the ECS credentials endpoint (169.254.170.2) hand out
// the worker's credentials. A refused connection fails the task at once,
// with task.ErrPermanent, and says why.
type HTTP struct {
	// Client sends the requests. Each request is bounded by its timeout
	// setting, so the client needs no timeout of its own.
	Client *http.Client
}

// NewHTTP returns an http type with a client of its own under the default
// network policy, netguard.Private (see NewHTTPWith).
func NewHTTP() *HTTP { return NewHTTPWith(HTTPOptions{}) }

// HTTPOptions tune the http type's client.
type HTTPOptions struct {
	// Network is where requests may connect; empty means netguard.Private.
	Network netguard.Policy
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver *net.Resolver
}

// NewHTTPWith returns an http type with a client of its own: a transport
// cloned from net/http's default (proxies from the worker's environment,
// HTTP/2) whose dialer o.Network checks. With a proxy set (HTTPS_PROXY),
// the policy checks the proxy's address, and the proxy reaches the target.
func NewHTTPWith(o HTTPOptions) *HTTP {
	policy := o.Network
	if policy == "" {
		policy = netguard.Private
	}
	d := policy.Dialer(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Resolver: o.Resolver})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	return &HTTP{Client: &http.Client{Transport: tr}}
}

var httpKeys = []string{"method", "url", "headers", "body", "expect_status", "timeout", "max_body"}

type httpSettings struct {
	method  string
	url     *url.URL
	headers map[string]string
	body    any
	expect  []int
	timeout time.Duration
	maxBody int
}

func readHTTP(with map[string]any, check bool) (httpSettings, *settings) {
	s := newSettings(with, check, httpKeys...)
	h := httpSettings{method: http.MethodGet, timeout: DefaultHTTPTimeout, maxBody: DefaultMaxBody}
	if m, ok := s.str("method", "an HTTP method"); ok {
		if up := strings.ToUpper(strings.TrimSpace(m)); slices.Contains(Methods, up) {
			h.method = up
		} else {
			s.problem("method", m, "use one of %s", strings.Join(Methods, ", "))
		}
	}
	if v, ok := s.get("url"); !ok {
		s.missing("url", `the address to call, e.g. "https://example.com/api"`)
	} else if s.placeholder(v) {
		checkURLPrefix(s, v.(string))
	} else if raw, ok := s.scalar("url", v, "a string"); ok {
		h.url = checkURL(s, raw)
	}
	if m, ok := s.object("headers", `{"Authorization": "Bearer ${params.token}"}`); ok {
		h.headers = map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			path := "headers." + k
			if !validHeaderName(k) {
				s.problem("headers", k, "not a header name: use letters, digits and -")
				continue
			}
			if s.placeholder(m[k]) {
				continue
			}
			if v, ok := s.scalar(path, m[k], "a string"); ok {
				if strings.ContainsAny(v, "\r\n\x00") {
					s.problem(path, v, "a header value must not hold a line break or NUL")
				}
				h.headers[k] = v
			}
		}
	}
	if v, ok := s.get("body"); ok && !s.placeholder(v) {
		h.body = v
		if _, isStr := v.(string); !isStr {
			if _, err := json.Marshal(v); err != nil {
				s.problem("body", fmt.Sprint(v), "cannot be sent as JSON: %v", err)
			}
		}
	}
	if codes, ok := s.intList("expect_status", 100, 599, "[200, 201]"); ok {
		h.expect = codes
	}
	if d, ok := s.duration("timeout", false); ok {
		h.timeout = d
	}
	if n, ok := s.integer("max_body", 0, MaxMaxBody); ok {
		h.maxBody = n
	}
	return h, s
}

const urlHint = `use an http:// or https:// URL, e.g. "https://example.com/api"`

// checkURL parses a URL known in full.
func checkURL(s *settings, raw string) *url.URL {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		s.problem("url", raw, "%s (%v)", urlHint, unwrapURLError(err))
		return nil
	case u.Scheme != "http" && u.Scheme != "https":
		s.problem("url", raw, urlHint)
		return nil
	case u.Host == "":
		s.problem("url", raw, "name a host: %s", urlHint)
		return nil
	}
	return u
}

// checkURLPrefix checks what can be checked of a URL whose rest is known
// only at run time: the scheme, when the literal start names one.
func checkURLPrefix(s *settings, raw string) {
	before, _, _ := strings.Cut(raw, "${")
	prefix := strings.ToLower(strings.TrimSpace(before))
	scheme, _, hasScheme := strings.Cut(prefix, "://")
	switch {
	case hasScheme && scheme != "http" && scheme != "https":
		s.problem("url", raw, urlHint)
	case !hasScheme && strings.ContainsAny(prefix, "/?#"):
		s.problem("url", raw, "start with the scheme: %s", urlHint)
	}
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// validHeaderName reports whether k is an HTTP token (RFC 9110).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range []byte(k) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Check implements task.Type.
func (h *HTTP) Check(with map[string]any) error {
	_, s := readHTTP(with, true)
	return s.err()
}

// Run implements task.Type.
func (h *HTTP) Run(ctx context.Context, in task.Input) (task.Output, error) {
	x, s := readHTTP(in.With, false)
	if err := s.runErr(); err != nil {
		return nil, err
	}
	client := h.Client
	if client == nil {
		return nil, errors.New("http task type: no client: build it with NewHTTP")
	}
	log := logOf(in)
	runCtx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	req, err := x.request(runCtx)
	if err != nil {
		return nil, permanent(err)
	}
	what := x.method + " " + x.url.Redacted()
	start := time.Now()
	resp, err := client.Do(req)
	if err == nil {
		defer resp.Body.Close()
	}
	var raw []byte
	if err == nil {
		raw, err = io.ReadAll(io.LimitReader(resp.Body, int64(x.maxBody)+1))
	}
	elapsed := time.Since(start).Milliseconds()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s stopped: %w", what, ctx.Err())
		case runCtx.Err() != nil:
			return nil, fmt.Errorf("%s timed out after %s (with.timeout): %w", what, x.timeout, context.DeadlineExceeded)
		case errors.Is(err, netguard.ErrRefused):
			where := redirectedTo(err, x.url)
			var refused *netguard.RefusedError
			if errors.As(err, &refused) {
				err = refused // without the dial's and the client's wrapping
			}
			return nil, permanent(fmt.Errorf("%s%s: %w", what, where, err))
		case resp == nil:
			return nil, fmt.Errorf("%s: %w", what, unwrapURLError(err))
		default:
			return nil, fmt.Errorf("%s: reading the response body: %w", what, err)
		}
	}
	out := task.Output{
		"status":      resp.StatusCode,
		"headers":     firstValues(resp.Header),
		"duration_ms": elapsed,
	}
	cut := len(raw) > x.maxBody
	if cut {
		raw = raw[:x.maxBody]
		log.Warn(fmt.Sprintf("%s: the response body is longer than %d bytes (with.max_body): "+
			"only its start is kept, as a string", what, x.maxBody))
	}
	out["body"] = responseBody(raw, resp.Header.Get("Content-Type"), cut, log, what)
	if !x.statusOK(resp.StatusCode) {
		want := "2xx"
		if x.expect != nil {
			want = codesText(x.expect)
		}
		return out, fmt.Errorf("%s: unexpected status %s; want %s (with.expect_status); body starts: %s",
			what, resp.Status, want, show(clip(strings.TrimSpace(string(raw)), 200)))
	}
	return out, nil
}

// redirectedTo names the URL a redirect led to when the client's error is
// about another URL than the task's.
func redirectedTo(err error, asked *url.URL) string {
	var ue *url.Error
	if !errors.As(err, &ue) || ue.URL == asked.String() {
		return ""
	}
	if u, perr := url.Parse(ue.URL); perr == nil {
		return " (redirected to " + u.Redacted() + ")"
	}
	return " (redirected)"
}

// request builds the request.
func (x httpSettings) request(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	isJSON := false
	switch b := x.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("with.body: cannot be sent as JSON: %w", err)
		}
		body = bytes.NewReader(data)
		isJSON = true
	}
	req, err := http.NewRequestWithContext(ctx, x.method, x.url.String(), body)
	if err != nil {
		return nil, fmt.Errorf("with.url %s: %w", show(x.url.Redacted()), err)
	}
	for k, v := range x.headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if isJSON && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func (x httpSettings) statusOK(code int) bool {
	if x.expect == nil {
		return code >= 200 && code <= 299
	}
	return slices.Contains(x.expect, code)
}

// responseBody parses a JSON body, or keeps the text.
func responseBody(raw []byte, contentType string, cut bool, log task.Log, what string) any {
	mt, _, _ := mime.ParseMediaType(contentType)
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	if !isJSON || cut || len(bytes.TrimSpace(raw)) == 0 {
		return string(raw)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		log.Warn(fmt.Sprintf("%s: the response says it is JSON but does not parse (%v): body kept as a string", what, err))
		return string(raw)
	}
	return v
}

func firstValues(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}
