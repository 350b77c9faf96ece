package openapitest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/content"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
)

// PathPrefix is where the API's operations live; requests elsewhere (the
// console's files) are not checked.
const PathPrefix = "/v1/"

// A Validator checks exchanges against one OpenAPI document. It is safe
// for concurrent use.
type Validator struct {
	v validator.Validator
	// mu serialises the library's calls: its caches are shared.
	mu sync.Mutex
}

var (
	cacheMu sync.Mutex
	cache   = map[[32]byte]*Validator{}
)

// New builds a validator for the document (JSON or YAML). The document must
// itself be a valid OpenAPI document. Validators are cached by content, so
// each test may call New cheaply.
func New(doc []byte) (*Validator, error) {
	key := sha256.Sum256(doc)
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if v, ok := cache[key]; ok {
		return v, nil
	}
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	v, errs := validator.NewValidator(d,
		config.WithFormatAssertions(),
		config.WithContentAssertions(),
		config.WithRejectUnsupportedBodyContent(),
		// The API reads a form-urlencoded body (curl -d's default type) as
		// JSON; the document declares it as a string holding JSON
		// (contentMediaType and contentSchema), which the content
		// assertions check. Hand the validator that string.
		config.WithBodyDecoder("application/x-www-form-urlencoded", content.DecoderFunc(func(in *content.DecodeInput) (any, error) {
			if in == nil || in.Body == nil {
				return nil, nil
			}
			b, err := io.ReadAll(in.Body)
			return string(b), err
		})),
	)
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi document: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("openapi document is not valid OpenAPI: %s", describe(verrs))
	}
	out := &Validator{v: v}
	cache[key] = out
	return out, nil
}

// Check validates one exchange: the response against the operation the
// request matches and, when the API accepted the request (2xx), the
// request too. reqBody and respBody are the bodies (the ones in req and
// resp are not read). It returns one line per violation, none when the
// exchange agrees with the document.
//
// Not checked: requests outside [PathPrefix]; a request for a route the
// document does not have, unless the API accepted it; a body sent on an
// operation that declares none (the API ignores it). A body without a
// Content-Type is checked as JSON, which is how the API reads it (the
// document says so in words: OpenAPI has no way to declare an absent
// type).
func (v *Validator) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) []string {
	if !strings.HasPrefix(req.URL.Path, PathPrefix) {
		return nil
	}
	accepted := resp.StatusCode >= 200 && resp.StatusCode < 300
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	rs := *resp
	rs.Body = io.NopCloser(bytes.NewReader(respBody))
	rs.Request = withBody(req, reqBody)
	if ok, errs := v.v.ValidateHttpResponse(rs.Request, &rs); !ok {
		if len(errs) > 0 && errs[0].ValidationType == helpers.PathValidation {
			if accepted {
				return lines("a route the document does not have answered", errs)
			}
			return nil // a wrong method or an unknown route, refused
		}
		out = append(out, lines("response", errs)...)
	}
	if accepted {
		rq := withBody(req, reqBody)
		if len(reqBody) > 0 && rq.Header.Get("Content-Type") == "" {
			rq.Header.Set("Content-Type", "application/json")
		}
		if ok, errs := v.v.ValidateHttpRequestSync(rq); !ok {
			out = append(out, lines("request the API accepted", errs)...)
		}
	}
	return out
}

// withBody is a copy of req whose body reads b.
func withBody(req *http.Request, b []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return r
}

func lines(what string, errs []*verrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, what+": "+describe([]*verrors.ValidationError{e}))
	}
	return out
}

func describe(errs []*verrors.ValidationError) string {
	var parts []string
	for _, e := range errs {
		s := e.Message
		if e.Reason != "" && e.Reason != e.Message {
			s += ": " + e.Reason
		}
		for _, se := range e.SchemaValidationErrors {
			where := se.FieldPath
			if where == "" {
				where = se.KeywordLocation
			}
			s += fmt.Sprintf("; at %s: %s", where, se.Reason)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " | ")
}

// Transport returns a RoundTripper that sends through base
// (http.DefaultTransport when nil) and checks every exchange with v: a
// violation is reported with tb.Errorf, which fails the test that made the
// request. Bodies are read in full and handed on unchanged.
func Transport(tb testing.TB, v *Validator, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{tb: tb, v: v, base: base}
}

// Client is an HTTP client whose exchanges are checked against the
// document: see [Transport]. It fails the test at once when the document
// is not a valid OpenAPI document.
func Client(tb testing.TB, doc []byte) *http.Client {
	tb.Helper()
	v, err := New(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Transport: Transport(tb, v, nil)}
}

type transport struct {
	tb   testing.TB
	v    *Validator
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if problems := t.v.Check(req, reqBody, resp, respBody); len(problems) > 0 {
		t.tb.Errorf("%s %s answered %d, which breaks the OpenAPI document:\n  %s\nrequest body: %s\nresponse body: %s",
			req.Method, req.URL.RequestURI(), resp.StatusCode, strings.Join(problems, "\n  "), clip(reqBody), clip(respBody))
	}
	return resp, nil
}

func clip(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return string(b)
}
