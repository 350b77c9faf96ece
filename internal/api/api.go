package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scaleout/scaleout/internal/api/auth"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/pkgrun"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/stream/notify"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Store is where executions are recorded.
type Store interface {
	Create(ctx context.Context, e execution.Execution) error
	CreateIdempotent(ctx context.Context, e execution.Execution, idem scaleouttype.Idempotency) (execution.Execution, bool, error)
	Get(ctx context.Context, id string) (execution.Execution, error)
	List(ctx context.Context, f scaleouttype.ExecutionFilter, now time.Time) (scaleouttype.ExecutionPage, error)
	Stop(ctx context.Context, id string, now time.Time) (execution.Execution, error)
	ByStatus(ctx context.Context, status execution.Status, createdBefore time.Time, limit int) ([]execution.Execution, error)
	Fail(ctx context.Context, id, reason string, now time.Time) error
}

// Enqueuer sends a task to a pool's queue.
type Enqueuer interface {
	Send(ctx context.Context, t taskqueue.Task) error
}

// Messages lists an execution's messages.
type Messages interface {
	List(ctx context.Context, executionID, cursor string, limit int) (messages.Page, error)
}

// Stats reads the aggregates the stream function keeps.
type Stats interface {
	Stats(ctx context.Context, f aggregate.Filter) (aggregate.Stats, error)
	// Pools reads the counts of the pools named.
	Pools(ctx context.Context, pools []string) ([]aggregate.Stats, error)
	// Workers reads the counts of the workers named.
	Workers(ctx context.Context, ids []string) ([]aggregate.Stats, error)
	Dashboard(ctx context.Context, since time.Time) (aggregate.Dashboard, error)
}

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// Server is the HTTP API.
type Server struct {
	catalog Catalog
	workers Workers
	store   Store
	msgs    Messages
	types   *task.Registry
	queues  map[string]Enqueuer
	stats   Stats
	auth    auth.Authenticator
	log     *slog.Logger
	now     func() time.Time
	newID   func() string
	mux     *http.ServeMux
	// lostRetries is an execution's lost-attempt budget when its request
	// names none.
	lostRetries int
}

// Deps are what the server needs: ports, each with a DynamoDB or SQS
// adapter and an in-memory one, so none forces an AWS client on a caller.
type Deps struct {
	Store Store
	// Catalog holds folders, projects and environments.
	Catalog Catalog
	// Workers is the worker registry.
	Workers Workers
	// Messages lists execution messages.
	Messages Messages
	// Types are the task types packages may use.
	Types *task.Registry
	// Queues maps each pool to its queue.
	Queues map[string]Enqueuer
	Stats  Stats
	Auth   auth.Authenticator
	Logger *slog.Logger
	// Now and NewID default to time.Now and UUIDv7 (time-ordered).
	Now   func() time.Time
	NewID func() string
	// LostRetries is an execution's lost-attempt budget when its request
	// names none; nil: execution.DefaultLostRetries.
	LostRetries *int
}

// New builds the server; it fails on missing dependencies.
func New(d Deps) (*Server, error) {
	var errs []error
	if d.Store == nil {
		errs = append(errs, errors.New("api: no execution store"))
	}
	if d.Catalog == nil {
		errs = append(errs, errors.New("api: no catalog"))
	}
	if d.Workers == nil {
		errs = append(errs, errors.New("api: no worker registry"))
	}
	if len(d.Queues) == 0 {
		errs = append(errs, errors.New("api: no queues"))
	}
	if d.Stats == nil {
		errs = append(errs, errors.New("api: no stats reader"))
	}
	if d.Messages == nil {
		errs = append(errs, errors.New("api: no message store"))
	}
	if d.Types == nil {
		errs = append(errs, errors.New("api: no task types"))
	}
	if d.Auth == nil {
		errs = append(errs, errors.New("api: no authenticator (every route but health is authenticated)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s := &Server{catalog: d.Catalog, workers: d.Workers, store: d.Store, msgs: d.Messages, types: d.Types, queues: d.Queues, stats: d.Stats, auth: d.Auth, log: d.Logger, now: d.Now, newID: d.NewID}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.lostRetries = execution.DefaultLostRetries
	if d.LostRetries != nil {
		s.lostRetries = *d.LostRetries
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	s.routes()
	return s, nil
}

// Route is one route of the API and the role it needs ("" for none).
type Route struct {
	Method, Path string
	Role         auth.Role
	handle       handlerFunc
}

// Routes lists every route, in one place: the mux, the OpenAPI test and
// the role tests all read it.
func (s *Server) Routes() []Route {
	return append(s.executionRoutes(), s.catalogRoutes()...)
}

func (s *Server) executionRoutes() []Route {
	return []Route{
		{"GET", "/v1/health", "", s.health},
		{"GET", "/v1/openapi.json", auth.Reader, s.openapi},
		{"POST", "/v1/executions", auth.Executor, s.createExecution},
		{"GET", "/v1/executions", auth.Reader, s.listExecutions},
		{"GET", "/v1/executions/{id}", auth.Reader, s.getExecution},
		{"POST", "/v1/executions/{id}/stop", auth.Executor, s.stopExecution},
		{"GET", "/v1/executions/{id}/messages", auth.Reader, s.getMessages},
		{"GET", "/v1/executions/{id}/data-statistics", auth.Reader, s.getDataStatistics},
		{"GET", "/v1/stats", auth.Reader, s.getStats},
		{"GET", "/v1/dashboard", auth.Reader, s.getDashboard},
		{"GET", "/v1/pools", auth.Reader, s.getPools},
		{"GET", "/v1/workers", auth.Reader, s.listWorkers},
		{"GET", "/v1/workers/{id}", auth.Reader, s.getWorker},
		{"PATCH", "/v1/workers/{id}", auth.Admin, s.updateWorker},
		{"DELETE", "/v1/workers/{id}", auth.Admin, s.removeWorker},
		{"POST", "/v1/workers/{id}/enable", auth.Admin, s.enableWorker},
		{"POST", "/v1/workers/{id}/disable", auth.Admin, s.disableWorker},
	}
}

func (s *Server) routes() {
	m := http.NewServeMux()
	for _, rt := range s.Routes() {
		pattern := rt.Method + " " + rt.Path
		if rt.Role == "" {
			m.Handle(pattern, s.open(rt.handle))
			continue
		}
		m.Handle(pattern, s.authorized(rt.Role, rt.handle))
	}
	s.mux = m
}

// open wraps a route that needs no caller (health).
func (s *Server) open(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// ServeHTTP implements http.Handler. Unknown routes and methods get the
// JSON error shape too.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.log.ErrorContext(r.Context(), "handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			s.fail(w, r, fmt.Errorf("panic: %v", v))
		}
	}()
	if serveConsole(w, r) {
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// Ask the mux whether the path exists under another method.
		rec := &statusOnly{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			s.fail(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: scaleouttype.CodeMethodNotAllowed,
				Message: fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, rec.header.Get("Allow"))})
			return
		}
		s.fail(w, r, &Error{Status: http.StatusNotFound, Code: scaleouttype.CodeNotFound, Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
		return
	}
	s.mux.ServeHTTP(w, r)
}

type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authorized wraps a route: the caller must be authenticated and its role
// must allow need.
func (s *Server) authorized(need auth.Role, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.auth.Authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !p.Role.Allows(need) {
			s.fail(w, r, &Error{Status: http.StatusForbidden, Code: scaleouttype.CodeForbidden,
				Message: fmt.Sprintf("%s %s needs the %s role; caller %q has %q", r.Method, r.URL.Path, need, p.Name, p.Role)})
			return
		}
		r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// fromCatalog reports whether the request runs a deployed project's package.
func fromCatalog(req scaleouttype.CreateExecutionRequest) bool {
	return (len(req.Definition) == 0 || string(req.Definition) == "null") && len(req.Command) == 0 && req.Project != ""
}

// definitionText returns the package text of a request.
func definitionText(req scaleouttype.CreateExecutionRequest) ([]byte, error) {
	switch {
	case len(req.Definition) > 0 && len(req.Command) > 0:
		return nil, badRequest("give either definition or command, not both")
	case len(req.Command) > 0:
		if req.Command[0] == "" {
			return nil, badRequest("command[0]: the program name is empty")
		}
		if n := commandBytes(req.Command); n > execution.MaxCommandBytes {
			return nil, badRequest(fmt.Sprintf("command: %d bytes in its %d strings, at most %d (128 KiB) in all: pass large data in a file, not as arguments",
				n, len(req.Command), execution.MaxCommandBytes))
		}
		return pkgrun.CommandDefinition("command", req.Command), nil
	case len(req.Definition) == 0 || string(req.Definition) == "null":
		return nil, badRequest(`give "project" and "package" of a deployed project, or "definition": the package to run (a JSON object or the file's text), or "command": ["program", "arg", ...]`)
	case len(req.Definition) > execution.MaxDefinitionBytes:
		return nil, badRequest(fmt.Sprintf("definition: %d bytes, at most %d (256 KiB)", len(req.Definition), execution.MaxDefinitionBytes))
	case req.Definition[0] == '"':
		var text string
		if err := json.Unmarshal(req.Definition, &text); err != nil {
			return nil, badRequest("definition: not a valid JSON string")
		}
		return []byte(text), nil
	case req.Definition[0] == '{':
		return req.Definition, nil
	}
	return nil, badRequest("definition: give a JSON object, or a string holding the package file's text")
}

// commandBytes is the size of a command's program and arguments.
func commandBytes(argv []string) int {
	n := 0
	for _, a := range argv {
		n += len(a)
	}
	return n
}

// invalidPackage is the 400 for a package or parameters that do not
// validate: every problem listed.
func invalidPackage(err error) *Error {
	var ve *pkgfile.ValidationError
	if errors.As(err, &ve) {
		return &Error{Status: http.StatusBadRequest, Code: scaleouttype.CodeInvalidPackage, Message: err.Error(), Problems: packageProblems(ve.Problems)}
	}
	return &Error{Status: http.StatusBadRequest, Code: scaleouttype.CodeInvalidPackage, Message: err.Error()}
}

// decode reads a JSON body strictly: size-limited, no unknown fields, one
// value.
// jsonKind names the kind of JSON value t starts with, for messages.
func jsonKind(t []byte) string {
	if len(t) == 0 {
		return "empty"
	}
	switch t[0] {
	case 'n':
		return "JSON null"
	case '[':
		return "a JSON array"
	case '"':
		return "a JSON string"
	case 't', 'f':
		return "a JSON boolean"
	}
	return "a JSON number"
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); !jsonContentType(ct) {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: scaleouttype.CodeUnsupportedMedia,
			Message: fmt.Sprintf("Content-Type %q: send application/json", ct)}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var raw json.RawMessage
	err := dec.Decode(&raw)
	if err == nil {
		// Exactly one JSON object: null (or an array, a string...) would
		// decode into a zero value and wipe what a PUT replaces.
		if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
			return badRequest(fmt.Sprintf("body is %s: send one JSON object", jsonKind(t)))
		}
		obj := json.NewDecoder(bytes.NewReader(raw))
		obj.DisallowUnknownFields()
		err = obj.Decode(v)
	}
	var maxErr *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &maxErr):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: scaleouttype.CodeTooLarge,
			Message: fmt.Sprintf("request body over %d bytes", MaxBodyBytes)}
	case errors.Is(err, io.EOF):
		return badRequest("empty body: send a JSON object")
	case errors.As(err, &syntax):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, err))
	case errors.As(err, &typeErr):
		return badRequest(typeMessage(typeErr))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return badRequest(strings.TrimPrefix(err.Error(), "json: ") + " (see the API documentation for the fields)")
	default:
		return badRequest("malformed JSON: " + err.Error())
	}
	// Only white space may follow (More alone misses a stray '}' or ']').
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("body has data after the JSON object: send exactly one object")
	}
	return nil
}

// typeMessage says which field of a body has a value of the wrong type, in
// the API's terms: JSON kinds, not Go types, and the field's JSON path.
func typeMessage(e *json.UnmarshalTypeError) string {
	// The API's JSON names are lower case: an upper-case segment is the Go
	// name of an embedded struct, which the client never wrote.
	var path []string
	for seg := range strings.SplitSeq(e.Field, ".") {
		if seg != "" && (seg[0] < 'A' || seg[0] > 'Z') {
			path = append(path, seg)
		}
	}
	field := strings.Join(path, ".")
	want := jsonTypeName(e.Type)
	if num, ok := strings.CutPrefix(e.Value, "number "); ok {
		switch {
		case want == "a number" || want == "any JSON value":
			return fmt.Sprintf("field %q: number %s is out of range (at most about ±1.8e308)", field, num)
		case want == "a whole number" && !strings.ContainsAny(num, ".eE"):
			return fmt.Sprintf("field %q: whole number %s is out of range", field, num)
		}
		return fmt.Sprintf("field %q: expected %s, got the number %s", field, want, num)
	}
	return fmt.Sprintf("field %q: expected %s, got a JSON %s", field, want, e.Value)
}

// jsonTypeName names what a Go type accepts, as JSON.
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map, reflect.Struct:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	}
	return "any JSON value"
}

// jsonContentType accepts JSON, no type, and curl's default for -d
// (application/x-www-form-urlencoded), whose body is still parsed as JSON.
func jsonContentType(ct string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	mt = strings.TrimSpace(mt)
	return mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/x-www-form-urlencoded"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// MaxIdempotencyKey is the longest Idempotency-Key accepted.
const MaxIdempotencyKey = 255

// createExecution handles POST /v1/executions, in steps: read the request,
// prepare what it runs, build and check the execution, record it (once per
// Idempotency-Key), enqueue it.
func (s *Server) createExecution(w http.ResponseWriter, r *http.Request) error {
	req, idemKey, body, err := readCreateRequest(w, r)
	if err != nil {
		return err
	}
	prep, version, err := s.prepare(r.Context(), req)
	if err != nil {
		return err
	}
	e, err := s.newExecution(req, prep, version)
	if err != nil {
		return err
	}
	q, ok := s.queues[e.Pool]
	if !ok {
		return badRequest(fmt.Sprintf("pool %q does not exist (known: %s)", e.Pool, strings.Join(s.pools(), ", ")))
	}
	got, replayed, err := s.recordExecution(r.Context(), e, idemKey, body)
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Location", "/v1/executions/"+got.ID)
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusOK, got.Redacted())
		return nil
	}
	if err := s.enqueue(r.Context(), q, e); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "execution accepted", "execution_id", e.ID, "package", e.Ref(), "pool", e.Pool)
	w.Header().Set("Location", "/v1/executions/"+e.ID)
	writeJSON(w, http.StatusCreated, e.Redacted())
	return nil
}

// readCreateRequest reads and decodes the body of POST /v1/executions and
// checks its Idempotency-Key header. It returns the body as read too: an
// idempotent request is known again by its hash.
func readCreateRequest(w http.ResponseWriter, r *http.Request) (req scaleouttype.CreateExecutionRequest, idemKey string, body []byte, err error) {
	idemKey = r.Header.Get("Idempotency-Key")
	if len(idemKey) > MaxIdempotencyKey || strings.ContainsFunc(idemKey, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		return req, "", nil, badRequest(fmt.Sprintf("Idempotency-Key: 1-%d printable ASCII characters without spaces (a UUID is a good key)", MaxIdempotencyKey))
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return req, "", nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: scaleouttype.CodeTooLarge, Message: fmt.Sprintf("request body over %d bytes", MaxBodyBytes)}
	}
	if err != nil {
		return req, "", nil, badRequest("could not read the request body: " + err.Error())
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := decode(w, r, &req); err != nil {
		return req, "", nil, err
	}
	if string(req.Definition) == "null" {
		req.Definition = nil // "definition": null is no definition
	}
	return req, idemKey, body, nil
}

// prepare finds what the request runs: the package of a deployed project,
// resolved with its environment and bindings (and the project's version),
// or a definition or command of its own, checked.
func (s *Server) prepare(ctx context.Context, req scaleouttype.CreateExecutionRequest) (prep pkgrun.Prepared, version pkgrun.ProjectVersion, err error) {
	if fromCatalog(req) {
		if req.Project == "" || req.Package == "" {
			return prep, version, badRequest(`give "project" and "package" of a deployed project (and "folder"), or a "definition", or a "command"`)
		}
		folder := orDefault(req.Folder, "default")
		res, err := s.catalog.Resolve(ctx, folder, req.Project, req.Package, req.Environment, req.Parameters)
		if err != nil {
			return prep, version, err
		}
		return pkgrun.Prepared{Definition: res.Definition, Params: res.Params, Sensitive: res.Sensitive},
			pkgrun.ProjectVersion{Folder: folder, Project: req.Project, Version: res.ProjectVersion, UID: res.ProjectUID}, nil
	}
	if req.Environment != nil {
		return prep, version, badRequest("environment: only an execution of a deployed project (no definition or command) takes an environment")
	}
	text, err := definitionText(req)
	if err != nil {
		return prep, version, err
	}
	if prep, err = pkgrun.Prepare(s.types, text, req.Parameters); err != nil {
		return prep, version, invalidPackage(err)
	}
	return prep, version, nil
}

// newExecution builds the pending execution the request asks for, with
// the defaults filled in, and checks it.
func (s *Server) newExecution(req scaleouttype.CreateExecutionRequest, prep pkgrun.Prepared, version pkgrun.ProjectVersion) (execution.Execution, error) {
	var pkgName struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(prep.Definition, &pkgName)
	e := execution.Execution{
		ID:             s.newID(),
		Folder:         orDefault(req.Folder, "default"),
		Project:        orDefault(req.Project, "default"),
		Package:        orDefault(req.Package, pkgName.Name),
		Pool:           orDefault(req.Pool, resources.DefaultPool),
		Status:         execution.Pending,
		Definition:     prep.Definition,
		Parameters:     prep.Params,
		Sensitive:      prep.Sensitive,
		CreatedAt:      s.now().UTC().Truncate(time.Millisecond),
		ProjectVersion: version.Version,
		ProjectUID:     version.UID,
		Retries:        req.Retries,
		LostRetries:    s.lostRetries,
		CallbackURL:    req.CallbackURL,
	}
	if req.LostRetries != nil {
		e.LostRetries = *req.LostRetries
	}
	if req.CallbackURL != "" {
		if err := notify.ValidateURL(req.CallbackURL); err != nil {
			return e, badRequest(err.Error())
		}
	}
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 {
			return e, badRequest(fmt.Sprintf("timeout %q: write a positive duration such as \"30m\" or \"2h\"", req.Timeout))
		}
		e.TimeoutMS = d.Milliseconds()
	}
	if err := execution.ValidateSubmission(e); err != nil {
		return e, badRequest(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return e, nil
}

// recordExecution writes the new execution. With an Idempotency-Key, a
// request seen before returns the execution it made (replayed), and the
// same key with another body is refused.
func (s *Server) recordExecution(ctx context.Context, e execution.Execution, idemKey string, body []byte) (got execution.Execution, replayed bool, err error) {
	if idemKey == "" {
		return e, false, s.store.Create(ctx, e)
	}
	p, _ := auth.FromContext(ctx)
	sum := sha256.Sum256(body)
	got, replayed, err = s.store.CreateIdempotent(ctx, e, scaleouttype.Idempotency{
		Scope: p.Name, Key: idemKey, Hash: hex.EncodeToString(sum[:]),
	})
	if errors.Is(err, scaleouttype.ErrIdempotencyMismatch) {
		return got, false, &Error{Status: http.StatusConflict, Code: scaleouttype.CodeIdempotencyKeyReused,
			Message: "Idempotency-Key was used before with a different request body: use a new key for a new request"}
	}
	return got, replayed, err
}

// enqueue sends the recorded execution to its pool's queue. When that
// fails the execution must not wait forever: it is ended as failed, and
// the caller is told to retry.
func (s *Server) enqueue(ctx context.Context, q Enqueuer, e execution.Execution) error {
	err := q.Send(ctx, taskqueue.Task{ExecutionID: e.ID, Pool: e.Pool})
	if err == nil {
		return nil
	}
	s.log.ErrorContext(ctx, "enqueue failed", "execution_id", e.ID, "error", err)
	if ferr := s.store.Fail(context.WithoutCancel(ctx), e.ID, "could not enqueue: "+err.Error(), s.now()); ferr != nil {
		s.log.ErrorContext(ctx, "could not mark unqueued execution failed", "execution_id", e.ID, "error", ferr)
	}
	return &Error{Status: http.StatusServiceUnavailable, Code: scaleouttype.CodeUnavailable,
		Message: fmt.Sprintf("execution %s was recorded but could not be queued, and was marked failed; retry the request", e.ID)}
}

func (s *Server) pools() []string {
	out := make([]string, 0, len(s.queues))
	for p := range s.queues {
		out = append(out, p)
	}
	return out
}

func (s *Server) getExecution(w http.ResponseWriter, r *http.Request) error {
	e, err := s.execution(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e.Redacted())
	return nil
}

// getDataStatistics answers GET /v1/executions/{id}/data-statistics: the
// rows each dataflow task sent along each path, from the same record.
func (s *Server) getDataStatistics(w http.ResponseWriter, r *http.Request) error {
	e, err := s.execution(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e.DataStatistics())
	return nil
}

// execution reads the execution the request's path names.
func (s *Server) execution(r *http.Request) (execution.Execution, error) {
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil {
		return execution.Execution{}, &Error{Status: http.StatusNotFound, Code: scaleouttype.CodeNotFound, Message: fmt.Sprintf("execution %q: not a valid execution id "+
			"(a whole UUID such as 01a2149a-6c1e-7a55-9d0f-2b7c4d8e9f10, as POST /v1/executions answered)", id)}
	}
	return s.store.Get(r.Context(), id)
}

// listExecutions answers GET /v1/executions?folder=&project=&package=
// &status=&since=&until=&limit=&cursor=, newest first.
func (s *Server) listExecutions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "folder", "project", "package", "status", "since", "until", "limit", "cursor":
		default:
			return badRequest(fmt.Sprintf("query parameter %q: use folder, project, package, status, since, until, limit or cursor", k))
		}
	}
	f := scaleouttype.ExecutionFilter{Folder: q.Get("folder"), Project: q.Get("project"), Package: q.Get("package"), Cursor: q.Get("cursor")}
	if f.Package != "" {
		f.Folder, f.Project = orDefault(f.Folder, "default"), orDefault(f.Project, "default")
	}
	for _, v := range []struct{ name, value string }{{"folder", f.Folder}, {"project", f.Project}, {"package", f.Package}} {
		if v.value != "" && !execution.ValidName(v.value) {
			return badRequest(fmt.Sprintf("query parameter %s=%q: not a valid name", v.name, v.value))
		}
	}
	if st := q.Get("status"); st != "" {
		f.Status = execution.Status(st)
		if !f.Status.Valid() {
			return badRequest(fmt.Sprintf("query parameter status=%q: use one of %v", st, execution.Statuses))
		}
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return badRequest(fmt.Sprintf("query parameter %s=%q: give an RFC 3339 time such as 2026-11-25T10:00:00Z", t.name, v))
			}
			if tm.Year() < 1970 || tm.Year() > 2200 {
				return badRequest(fmt.Sprintf("query parameter %s=%q: give a time between 1970 and 2200", t.name, v))
			}
			*t.dst = tm
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return badRequest("query parameters since and until: until is before since")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badRequest(fmt.Sprintf("query parameter limit=%q: give a whole number from 1 to 1000", v))
		}
		f.Limit = n
	}
	page, err := s.store.List(r.Context(), f, s.now())
	if errors.Is(err, scaleouttype.ErrBadCursor) {
		return badRequest("query parameter cursor: use the \"next\" value of a previous page, with the same filters")
	}
	if err != nil {
		return err
	}
	for i, e := range page.Executions {
		page.Executions[i] = e.Redacted()
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// stopExecution answers POST /v1/executions/{id}/stop: a pending execution
// is canceled at once; a running one moves to stopping and its worker
// cancels it within a heartbeat. 202 with the execution.
func (s *Server) stopExecution(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil {
		return &Error{Status: http.StatusNotFound, Code: scaleouttype.CodeNotFound, Message: fmt.Sprintf("execution %q: not a valid execution id "+
			"(a whole UUID such as 01a2149a-6c1e-7a55-9d0f-2b7c4d8e9f10, as POST /v1/executions answered)", id)}
	}
	e, err := s.store.Stop(r.Context(), id, s.now())
	if err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	s.log.InfoContext(r.Context(), "stop requested", "execution_id", id, "status", e.Status, "by", p.Name)
	writeJSON(w, http.StatusAccepted, e.Redacted())
	return nil
}

// getMessages pages through an execution's messages: ?after=<cursor from
// the previous page>&limit=N (1-1000, default 100). The last page's "next"
// tails a running execution.
func (s *Server) getMessages(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil {
		return &Error{Status: http.StatusNotFound, Code: scaleouttype.CodeNotFound, Message: fmt.Sprintf("execution %q: not a valid execution id "+
			"(a whole UUID such as 01a2149a-6c1e-7a55-9d0f-2b7c4d8e9f10, as POST /v1/executions answered)", id)}
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badRequest(fmt.Sprintf("query parameter limit=%q: give a whole number from 1 to 1000", v))
		}
		limit = n
	}
	if _, err := s.store.Get(r.Context(), id); err != nil {
		return err
	}
	page, err := s.msgs.List(r.Context(), id, r.URL.Query().Get("after"), limit)
	if errors.Is(err, messages.ErrBadCursor) {
		return badRequest("query parameter after: use the \"next\" value of a previous page")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
