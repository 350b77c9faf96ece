package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/scaleout/scaleout/pkg/auth"
	"github.com/scaleout/scaleout/pkg/catalog"
	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/pkgfile"
	"github.com/scaleout/scaleout/pkg/workers"
)

// Error is an API error with its status and a stable code.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Problems lists every problem of an invalid package, with its location.
	Problems []pkgfile.Problem `json:"problems,omitempty"`
}

func (e *Error) Error() string { return e.Message }

func badRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: msg}
}

// toError maps any error to the API error it is shown as. Domain errors
// become 4xx; throttling becomes 503 with Retry-After; anything else is an
// internal error whose details are logged, not shown.
func toError(err error) *Error {
	var ae *Error
	var catInvalid *catalog.ValidationError
	var conflict *execution.ConflictError
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, auth.ErrUnauthenticated):
		return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: err.Error()}
	case errors.As(err, &catInvalid):
		e := &Error{Status: http.StatusBadRequest, Code: "invalid", Message: err.Error()}
		for _, p := range catInvalid.Problems {
			path := p.Path
			if p.Package != "" {
				path = "packages." + p.Package + ": " + path
			}
			e.Problems = append(e.Problems, pkgfile.Problem{Path: path, Line: p.Line, Message: p.Message})
		}
		return e
	case errors.Is(err, catalog.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: err.Error()}
	case errors.Is(err, catalog.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case errors.Is(err, catalog.ErrExists), errors.Is(err, catalog.ErrNotEmpty), errors.Is(err, catalog.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: err.Error()}
	case errors.Is(err, workers.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: err.Error()}
	case errors.Is(err, execution.ErrTooLarge):
		return &Error{Status: http.StatusBadRequest, Code: "too_large", Message: err.Error()}
	case errors.Is(err, execution.ErrNotFound), errors.Is(err, workers.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case errors.As(err, &conflict), errors.Is(err, execution.ErrExists), errors.Is(err, workers.ErrBusy):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: err.Error()}
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool(),
		errors.As(err, &apiErr) && apiErr.ErrorCode() == "RequestLimitExceeded":
		return &Error{Status: http.StatusServiceUnavailable, Code: "throttled", Message: "the service is busy: retry after a few seconds"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; it has been logged"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := toError(err)
	if e.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "2")
	}
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}
