package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scaleout/scaleout/pkg/wait"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is where `scaleout dev` serves the API.
const DefaultEndpoint = "http://127.0.0.1:8080"

// Signer signs a request before it is sent (see SigV4). body is the
// request's body, nil for none.
type Signer interface {
	Sign(ctx context.Context, req *http.Request, body []byte) error
}

// Options configure a Client.
type Options struct {
	// Endpoint is the API's base URL, such as http://127.0.0.1:8080 or a
	// deployed stack's https://abc123.execute-api.eu-west-1.amazonaws.com
	// (a path, such as a stage, is kept). Default DefaultEndpoint.
	Endpoint string
	// Token is sent as "Authorization: Bearer <token>".
	Token string
	// Signer, if set, signs every request instead (AWS SigV4 for a
	// deployed stack); Token is then not sent.
	Signer Signer
	// HTTPClient sends the requests; default a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds each request when HTTPClient is not given (default
	// 30s; it does not bound Follow, whose polls are requests of their own).
	Timeout time.Duration
	// UserAgent names the caller; default "scaleout-client".
	UserAgent string
	// Retries is how many more times a retryable request is sent
	// (default 3; negative for none).
	Retries int
}

// Client calls the Scaleout HTTP API.
type Client struct {
	base      string
	token     string
	signer    Signer
	http      *http.Client
	userAgent string
	retries   int
	// sleep waits between retries; tests make it instant.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a client; it fails on an endpoint that is not an http or
// https URL. A client without Token or Signer can call Health only.
func New(o Options) (*Client, error) {
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: give the API's base URL, such as %s", o.Endpoint, DefaultEndpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("endpoint %q: give the API's base URL without a query or fragment", o.Endpoint)
	}
	c := &Client{
		base:      strings.TrimSuffix(u.String(), "/"),
		token:     strings.TrimSpace(o.Token),
		signer:    o.Signer,
		http:      o.HTTPClient,
		userAgent: o.UserAgent,
		retries:   o.Retries,
		sleep:     wait.For,
	}
	if c.http == nil {
		timeout := o.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		c.http = &http.Client{Timeout: timeout}
	}
	if c.userAgent == "" {
		c.userAgent = "scaleout-client"
	}
	switch {
	case c.retries == 0:
		c.retries = 3
	case c.retries < 0:
		c.retries = 0
	}
	return c, nil
}

// Endpoint is the API's base URL.
func (c *Client) Endpoint() string { return c.base }

// CallOption changes one call.
type CallOption func(*callOptions)

type callOptions struct {
	raw     *json.RawMessage
	headers http.Header
}

// Raw stores the API's answer body, exactly as it was sent, in dst.
func Raw(dst *json.RawMessage) CallOption {
	return func(o *callOptions) { o.raw = dst }
}

// IdempotencyKey sends an Idempotency-Key with a start: a retry with the
// same key and body returns the same execution (1-255 printable ASCII
// characters; a UUID is a good key). It also lets the client retry the
// start after a lost connection.
func IdempotencyKey(key string) CallOption {
	return func(o *callOptions) {
		if o.headers == nil {
			o.headers = http.Header{}
		}
		o.headers.Set("Idempotency-Key", key)
	}
}

// request is one API call.
type request struct {
	method string
	path   string // escaped, starting with /v1/
	query  url.Values
	in     any // JSON-encoded body; nil for none
	out    any // decoded answer; nil to ignore it
}

// do sends r, retrying what may be retried, and decodes the answer.
func (c *Client) do(ctx context.Context, r request, opts ...CallOption) error {
	var co callOptions
	for _, o := range opts {
		o(&co)
	}
	var body []byte
	if r.in != nil {
		var err error
		if body, err = json.Marshal(r.in); err != nil {
			return fmt.Errorf("%s %s: encode the request: %w", r.method, r.path, err)
		}
	}
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	retryable := r.method == http.MethodGet || co.headers.Get("Idempotency-Key") != ""
	for attempt := 0; ; attempt++ {
		status, header, answer, err := c.send(ctx, r.method, target, body, co.headers)
		pause, again := c.retryAfter(retryable, attempt, status, header, err)
		if again && ctx.Err() == nil {
			if serr := c.sleep(ctx, pause); serr == nil {
				continue
			}
		}
		if err != nil {
			return err
		}
		if status >= 400 {
			return parseError(status, r.method, r.path, answer)
		}
		if co.raw != nil {
			*co.raw = append(json.RawMessage(nil), answer...)
		}
		if r.out == nil || status == http.StatusNoContent {
			return nil
		}
		if err := json.Unmarshal(answer, r.out); err != nil {
			return fmt.Errorf("%s %s: the answer (HTTP %d) is not the API's JSON: %w", r.method, r.path, status, err)
		}
		return nil
	}
}

// maxAnswerBytes bounds an answer read into memory.
const maxAnswerBytes = 64 << 20

// send makes one attempt.
func (c *Client) send(ctx context.Context, method, target string, body []byte, headers http.Header) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	for k, vs := range headers {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.signer != nil:
		if err := c.signer.Sign(ctx, req, body); err != nil {
			return 0, nil, nil, fmt.Errorf("sign the request: %w", err)
		}
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		return 0, nil, nil, fmt.Errorf("%s %s: %w (is the API running there? `scaleout dev` serves it on %s)",
			method, target, unwrapURLError(err), DefaultEndpoint)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: read the answer: %w", method, target, err)
	}
	return resp.StatusCode, resp.Header, answer, nil
}

// unwrapURLError drops *url.Error's repetition of the method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter says whether an attempt is retried and after how long.
func (c *Client) retryAfter(retryable bool, attempt, status int, header http.Header, err error) (time.Duration, bool) {
	if !retryable || attempt >= c.retries {
		return 0, false
	}
	switch {
	case err != nil:
	case status == http.StatusTooManyRequests, status == http.StatusBadGateway,
		status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
	default:
		return 0, false
	}
	pause := 200 * time.Millisecond << attempt
	if s, perr := strconv.Atoi(header.Get("Retry-After")); perr == nil && s >= 0 {
		pause = time.Duration(s) * time.Second
	}
	return min(pause, 5*time.Second), true
}

// escape escapes one path segment.
func escape(s string) string { return url.PathEscape(s) }

// Health checks that the API answers (it needs no credentials).
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, request{method: http.MethodGet, path: "/v1/health"})
}
