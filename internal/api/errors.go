package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/scaleout/scaleout/internal/api/auth"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Error is an API error with its status: what ErrorBody carries, and the
// HTTP status it is sent with.
type Error struct {
	Status  int
	Code    scaleouttype.Code
	Message string
	// Problems lists every problem of an invalid request, with its location.
	Problems []scaleouttype.Problem
}

func (e *Error) Error() string { return e.Message }

// body is e as the API sends it.
func (e *Error) body() scaleouttype.ErrorBody {
	return scaleouttype.ErrorBody{Error: &scaleouttype.Error{Code: e.Code, Message: e.Message, Problems: e.Problems}}
}

func badRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: scaleouttype.CodeInvalidRequest, Message: msg}
}

// packageProblems converts a package file's problems to the API's.
func packageProblems(ps []pkgfile.Problem) []scaleouttype.Problem {
	out := make([]scaleouttype.Problem, 0, len(ps))
	for _, p := range ps {
		out = append(out, scaleouttype.Problem{Path: p.Path, Line: p.Line, Message: p.Message})
	}
	return out
}

// toError maps any error to the API error it is shown as, in one place.
// Domain errors become 4xx; scaleouttype.ErrThrottled (which the AWS
// adapters' errors match, see internal/aws/awsconfig) becomes 503 with Retry-After;
// anything else is an internal error whose details are logged, not shown.
func toError(err error) *Error {
	var ae *Error
	var catInvalid *catalog.ValidationError
	var conflict *execution.ConflictError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, auth.ErrUnauthenticated):
		return &Error{Status: http.StatusUnauthorized, Code: scaleouttype.CodeUnauthenticated, Message: err.Error()}
	case errors.As(err, &catInvalid):
		e := &Error{Status: http.StatusBadRequest, Code: scaleouttype.CodeInvalid, Message: err.Error()}
		for _, p := range catInvalid.Problems {
			path := p.Path
			if p.Package != "" {
				path = "packages." + p.Package + ": " + path
			}
			e.Problems = append(e.Problems, scaleouttype.Problem{Path: path, Line: p.Line, Message: p.Message})
		}
		return e
	case errors.Is(err, catalog.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: scaleouttype.CodeInvalid, Message: err.Error()}
	case errors.Is(err, registrytype.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: scaleouttype.CodeInvalidRequest, Message: err.Error()}
	case errors.Is(err, execution.ErrTooLarge):
		return &Error{Status: http.StatusBadRequest, Code: scaleouttype.CodeTooLarge, Message: err.Error()}
	case errors.Is(err, scaleouttype.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: scaleouttype.CodeNotFound, Message: err.Error()}
	case errors.Is(err, catalog.ErrExists), errors.Is(err, catalog.ErrNotEmpty), errors.Is(err, catalog.ErrConflict),
		errors.As(err, &conflict), errors.Is(err, execution.ErrExists), errors.Is(err, registrytype.ErrBusy):
		return &Error{Status: http.StatusConflict, Code: scaleouttype.CodeConflict, Message: err.Error()}
	case errors.Is(err, scaleouttype.ErrThrottled):
		return &Error{Status: http.StatusServiceUnavailable, Code: scaleouttype.CodeThrottled, Message: scaleouttype.ErrThrottled.Error()}
	}
	return &Error{Status: http.StatusInternalServerError, Code: scaleouttype.CodeInternal, Message: "internal error; it has been logged"}
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
	writeJSON(w, e.Status, e.body())
}
