package scaleouttype

import "errors"

// Domain errors that every adapter wraps (errors.Is), so that the HTTP layer
// maps them to codes in one place without knowing which store said so.
var (
	// ErrNotFound: what was asked for does not exist (an execution, a
	// worker, a folder, project, package, version or environment). The
	// wrapping error says which.
	ErrNotFound = errors.New("not found")
	// ErrThrottled: the service behind an adapter refused the request
	// because it is busy (DynamoDB throughput, an SDK's retry quota); the
	// same request may succeed a few seconds later.
	ErrThrottled = errors.New("the service is busy: retry after a few seconds")
	// ErrCannotOpen: a sealed (sensitive) value does not open with the key
	// given: another key sealed it, it was sealed for another context, or
	// it was altered.
	ErrCannotOpen = errors.New("cannot open sealed value")
)

// Code is the stable code of an API error, the "code" of ErrorBody.
type Code string

// Error codes of the HTTP API.
const (
	CodeInvalidRequest       Code = "invalid_request"        // 400: a malformed request or field
	CodeInvalid              Code = "invalid"                // 400: a catalog object is invalid (Problems lists why)
	CodeInvalidPackage       Code = "invalid_package"        // 400: a package definition is invalid (Problems lists why)
	CodeTooLarge             Code = "too_large"              // 400 or 413: too large to accept or store
	CodeUnsupportedMedia     Code = "unsupported_media_type" // 415: the body is not JSON
	CodeUnauthenticated      Code = "unauthenticated"        // 401: no or a wrong credential
	CodeForbidden            Code = "forbidden"              // 403: the caller's role may not do this
	CodeNotFound             Code = "not_found"              // 404
	CodeMethodNotAllowed     Code = "method_not_allowed"     // 405
	CodeConflict             Code = "conflict"               // 409: the object is not in the state the request needs
	CodeIdempotencyKeyReused Code = "idempotency_key_reused" // 409: the key was used with another body
	CodeThrottled            Code = "throttled"              // 503 with Retry-After: retry after a few seconds
	CodeUnavailable          Code = "unavailable"            // 503: a dependency is down
	CodeInternal             Code = "internal"               // 500: logged on the server, not shown
)

// Problem is one thing wrong with a request: a package, a catalog object or
// parameter values.
type Problem struct {
	// Path locates the problem, for example `tasks[2] "transform".after[0]`
	// or `bindings.who`; empty for a problem with the whole thing.
	Path string `json:"path,omitempty"`
	// Line is the problem's line in the file, when known (1-based).
	Line int `json:"line,omitempty"`
	// Message says what is wrong and, where it can, what to do.
	Message string `json:"message"`
}

// String is "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Error is an API error as the API sends it, inside ErrorBody.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Problems lists every problem of an invalid request, with its location.
	Problems []Problem `json:"problems,omitempty"`
}

// ErrorBody is the body of every error answer: {"error": {...}}.
type ErrorBody struct {
	Error *Error `json:"error"`
}
