package execution

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Status is where an execution stands.
type Status string

// Statuses, as the SSIS catalog has them.
const (
	Created           Status = "created"
	Pending           Status = "pending"
	Running           Status = "running"
	Stopping          Status = "stopping"
	Canceled          Status = "canceled"
	Failed            Status = "failed"
	Succeeded         Status = "succeeded"
	EndedUnexpectedly Status = "ended_unexpectedly"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{Created, Pending, Running, Stopping, Canceled, Failed, Succeeded, EndedUnexpectedly}

// Final reports whether no transition leaves s.
func (s Status) Final() bool {
	switch s {
	case Canceled, Failed, Succeeded, EndedUnexpectedly:
		return true
	}
	return false
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Execution is one run of one package.
type Execution struct {
	ID      string `json:"id"`
	Folder  string `json:"folder"`
	Project string `json:"project"`
	Package string `json:"package"`
	Pool    string `json:"pool"`
	Status  Status `json:"status"`
	// Definition is the package to run, as JSON (see pkg/pkgfile).
	Definition json.RawMessage `json:"definition,omitempty"`
	// Parameters are the execution's parameter values, defaults applied.
	Parameters map[string]any `json:"parameters,omitempty"`
	// Sensitive names the parameters whose values are never shown.
	Sensitive []string `json:"-"`
	// SealedParameters hold the sensitive parameters' values as stored:
	// sealed (see SealParameters), never shown.
	SealedParameters map[string]string `json:"-"`
	// ProjectVersion is the deployed project version run (0: an inline
	// definition or command).
	ProjectVersion int `json:"project_version,omitempty"`
	// Retries is how many more attempts an execution whose package failed
	// may get (0: none).
	Retries int `json:"retries,omitempty"`
	// LostRetries is how many more attempts an execution may get when an
	// attempt is lost (its worker died or lost its lease): not the
	// package's fault, so a budget of its own (DefaultLostRetries when the
	// request names none).
	LostRetries int `json:"lost_retries"`
	// TimeoutMS bounds one attempt's run, in milliseconds (0: none beyond
	// the package's own timeout).
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// Attempt counts claims; the current attempt holds the lease.
	Attempt  int    `json:"attempt"`
	WorkerID string `json:"worker_id,omitempty"`
	// Session is the worker session whose lease holds the current attempt
	// (see Lease).
	Session string `json:"session,omitempty"`
	// LeaseUntil is when the holding session's lease runs out, as last
	// read from the session (a store fills it in when it looked; the
	// execution item does not carry it).
	LeaseUntil *time.Time `json:"lease_until,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	// Error says why a failed execution failed.
	Error string `json:"error,omitempty"`
	// Tasks summarize how each task ended (see Result.Fit for the caps).
	Tasks []TaskSummary `json:"tasks,omitempty"`
	// TasksOmitted counts the task summaries left out of Tasks by those
	// caps; the messages have every task.
	TasksOmitted int `json:"tasks_omitted,omitempty"`
	// Attempts are the earlier attempts that failed, were lost or were
	// released (see AttemptRecord), oldest first.
	Attempts []AttemptRecord `json:"attempts,omitempty"`
	// EnqueuedAt is when the message was last sent again, by a retry, a
	// release or the reconciler (nil: only the API sent it, at CreatedAt).
	EnqueuedAt *time.Time `json:"-"`
	// Requeues counts the reconciler's re-enqueues; each one doubles the
	// wait before the next (a long backlog is not flooded with copies).
	Requeues int `json:"-"`
	// NotBefore holds a retry back until its backoff has passed: no worker
	// claims the execution earlier.
	NotBefore *time.Time `json:"not_before,omitempty"`
	// CallbackURL receives a signed webhook when the execution reaches a
	// final status (see pkg/notify); "" for none.
	CallbackURL string `json:"callback_url,omitempty"`
}

// MarshalJSON writes e with its stages (see Stages) added as "stages".
func (e Execution) MarshalJSON() ([]byte, error) {
	type plain Execution
	return json.Marshal(struct {
		plain
		Stages Stages `json:"stages"`
	}{plain(e), e.ComputeStages()})
}

// TaskSummary is how one task of the package ended.
type TaskSummary struct {
	Path       string `json:"path"`
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// MaxTaskSummaries caps the task summaries kept on an execution; the
// messages keep everything.
const MaxTaskSummaries = 200

// Redacted returns e as callers may see it: sensitive parameter values
// replaced by "***".
func (e Execution) Redacted() Execution {
	if len(e.Sensitive) == 0 || len(e.Parameters)+len(e.SealedParameters) == 0 {
		return e
	}
	params := make(map[string]any, len(e.Parameters)+len(e.SealedParameters))
	for k, v := range e.Parameters {
		params[k] = v
	}
	for _, k := range e.Sensitive {
		_, plain := params[k]
		_, sealed := e.SealedParameters[k]
		if plain || sealed {
			params[k] = "***"
		}
	}
	e.Parameters, e.SealedParameters = params, nil
	return e
}

// ComputeStages returns e's stages from its fields.
func (e Execution) ComputeStages() Stages {
	s := Stages{Accepted: e.CreatedAt, Claimed: e.StartedAt, Started: e.StartedAt, Ended: e.EndedAt}
	switch {
	case e.EnqueuedAt != nil:
		s.Enqueued = e.EnqueuedAt
	case e.Status != Created:
		at := e.CreatedAt
		s.Enqueued = &at
	}
	return s
}

// Ref names the package an execution runs.
func (e Execution) Ref() string { return e.Folder + "/" + e.Project + "/" + e.Package }

// Lease identifies the attempt a worker holds: every write the worker makes
// after its claim is conditional on it. The time limit is not the
// execution's: a worker renews one lease for its whole session (every
// execution it runs), and an attempt lives as long as the session that
// claimed it (see package workers).
type Lease struct {
	ID       string
	WorkerID string
	Session  string
	Attempt  int
}

// LeaseOf returns the lease of e's current attempt.
func LeaseOf(e Execution) Lease {
	return Lease{ID: e.ID, WorkerID: e.WorkerID, Session: e.Session, Attempt: e.Attempt}
}

// Result is what a finished attempt reports.
type Result struct {
	Status Status
	Error  string
	Tasks  []TaskSummary
	// TasksOmitted counts task summaries already left out of Tasks.
	TasksOmitted int
}

// MaxRetries caps an execution's retries and lost-attempt retries.
const MaxRetries = 10

// DefaultLostRetries is an execution's lost-attempt budget when its
// request names none.
const DefaultLostRetries = 2

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidName reports whether s may name a folder, project, package or pool.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// ValidateSubmission checks what a caller asked for; every problem is reported.
func ValidateSubmission(e Execution) error {
	var errs []error
	for _, f := range []struct{ field, value string }{
		{"folder", e.Folder}, {"project", e.Project}, {"package", e.Package}, {"pool", e.Pool},
	} {
		if !ValidName(f.value) {
			errs = append(errs, fmt.Errorf("%s %q: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", f.field, f.value))
		}
	}
	if e.Retries < 0 || e.Retries > MaxRetries {
		errs = append(errs, fmt.Errorf("retries %d: give 0 to %d", e.Retries, MaxRetries))
	}
	if e.LostRetries < 0 || e.LostRetries > MaxRetries {
		errs = append(errs, fmt.Errorf("lost_retries %d: give 0 to %d", e.LostRetries, MaxRetries))
	}
	if e.TimeoutMS < 0 {
		errs = append(errs, fmt.Errorf("timeout: must not be negative"))
	}
	switch {
	case len(e.Definition) == 0:
		errs = append(errs, errors.New("definition: give the package to run (or a command)"))
	case len(e.Definition) > MaxDefinitionBytes:
		errs = append(errs, fmt.Errorf("definition: %d bytes, at most %d (256 KiB)", len(e.Definition), MaxDefinitionBytes))
	}
	if len(e.Parameters) > 0 {
		b, err := json.Marshal(e.Parameters)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("parameters: %w", err))
		case len(b) > MaxParametersBytes:
			errs = append(errs, fmt.Errorf("parameters: %d bytes as JSON, at most %d (64 KiB): pass large data by reference (a path or a URL), not by value", len(b), MaxParametersBytes))
		}
	}
	return errors.Join(errs...)
}
