package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/scaleout/scaleout/scaleouttype"
)

// Sentinels an *Error matches with errors.Is, by the API's error code (or,
// for an answer without one, its HTTP status).
var (
	// ErrUnauthenticated: no credentials, or ones the API does not accept.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the caller's role does not allow the request.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: no such execution, worker, folder, project, ...
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request conflicts with what exists (a folder that
	// exists, a non-empty folder, a reused idempotency key, ...).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the request, the package or the project is invalid;
	// Problems lists what, where the API says.
	ErrInvalid = errors.New("invalid request")
	// ErrUnavailable: the API is busy or could not finish; retry later.
	ErrUnavailable = errors.New("unavailable")
)

// Error is an error answer of the API: its shape is
// {"error": {"code", "message", "problems"}} (pkg/api/errors.go).
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the API's stable code ("not_found", "invalid_package", ...);
	// empty when the answer did not come from Scaleout (a proxy, or API
	// Gateway refusing a signature).
	Code string
	// Message says what was wrong and what to do.
	Message string
	// Problems lists every problem of an invalid package or project.
	Problems []scaleouttype.Problem
	// Method and Path are the request's.
	Method, Path string
}

// Error is the message, the status and, one a line, the problems.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s, HTTP %d)", e.Code, e.StatusCode)
	} else {
		fmt.Fprintf(&b, " (HTTP %d, %s %s)", e.StatusCode, e.Method, e.Path)
	}
	for _, p := range e.Problems {
		if strings.Contains(e.Message, p.Message) {
			continue // the message lists it already
		}
		b.WriteString("\n  ")
		if p.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", p.Line)
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Is matches the sentinels by code, else by status.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case "unauthenticated":
		return target == ErrUnauthenticated
	case "forbidden":
		return target == ErrForbidden
	case "not_found":
		return target == ErrNotFound
	case "conflict", "idempotency_key_reused":
		return target == ErrConflict
	case "invalid", "invalid_request", "invalid_package", "unsupported_media_type", "too_large":
		return target == ErrInvalid
	case "throttled", "unavailable", "internal":
		return target == ErrUnavailable
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return target == ErrUnauthenticated
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusConflict:
		return target == ErrConflict
	case http.StatusBadRequest:
		return target == ErrInvalid
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return target == ErrUnavailable
	}
	return false
}

// maxErrorText bounds how much of a non-JSON error body is quoted.
const maxErrorText = 300

// parseError reads an error answer: Scaleout's shape, API Gateway's
// {"message": "..."}, or anything else quoted briefly.
func parseError(status int, method, path string, body []byte) *Error {
	e := &Error{StatusCode: status, Method: method, Path: path}
	var shaped struct {
		Error *struct {
			Code     string                 `json:"code"`
			Message  string                 `json:"message"`
			Problems []scaleouttype.Problem `json:"problems"`
		} `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &shaped) == nil {
		if shaped.Error != nil && shaped.Error.Message != "" {
			e.Code, e.Message, e.Problems = shaped.Error.Code, shaped.Error.Message, shaped.Error.Problems
			return e
		}
		if shaped.Message != "" {
			e.Message = shaped.Message
			if status == http.StatusForbidden {
				e.Message += ": the request's SigV4 signature was refused or the caller may not invoke the API" +
					" (check the AWS credentials, the region and that the endpoint is the stack's API URL)"
			}
			return e
		}
	}
	text := strings.TrimSpace(string(body))
	if len(text) > maxErrorText {
		text = text[:maxErrorText] + "..."
	}
	e.Message = http.StatusText(status)
	if text != "" {
		e.Message += ": " + text
	}
	return e
}
