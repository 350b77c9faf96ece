package scaleouttype

import (
	"encoding/json"
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
	// Definition is the package to run, as JSON (see internal/packages/pkgfile).
	Definition json.RawMessage `json:"definition,omitempty"`
	// Parameters are the execution's parameter values, defaults applied.
	Parameters map[string]any `json:"parameters,omitempty"`
	// Sensitive names the parameters whose values are never shown.
	Sensitive []string `json:"-"`
	// SealedParameters hold the sensitive parameters' values as stored:
	// sealed (see execution.SealParameters), never shown.
	SealedParameters map[string]string `json:"-"`
	// ProjectVersion is the deployed project version run (0: an inline
	// definition or command).
	ProjectVersion int `json:"project_version,omitempty"`
	// ProjectUID names the incarnation of the project that version
	// belongs to: a project deleted and deployed again under the same name
	// numbers its versions anew, and the worker must not take the new
	// version 1's files for the old one's. Internal, never shown.
	ProjectUID string `json:"-"`
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
	// (see execution.Lease).
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
	// Tasks summarize how each task ended (see execution.Result.Fit for
	// the caps).
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
	// final status (see internal/stream/notify); "" for none.
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
	// DataFlow holds a dataflow task's statistics (nil for other tasks).
	DataFlow *DataFlowStats `json:"data_flow,omitempty" dynamodbav:",omitempty"`
}

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

// Outcome is how an attempt that did not end its execution ended.
type Outcome string

// Attempt outcomes.
const (
	// OutcomeFailed: the package failed and a retry was left.
	OutcomeFailed Outcome = "failed"
	// OutcomeLost: the worker's session stopped renewing its lease (the
	// worker died or lost its network) and the lease expired. A lost
	// attempt is not the package's fault: it counts against the
	// execution's LostRetries, not its Retries.
	OutcomeLost Outcome = "lost"
	// OutcomeReleased: the worker was shutting down and handed the
	// execution back before its grace period ran out. A released attempt
	// does not count against the execution's retries.
	OutcomeReleased Outcome = "released"
)

// AttemptRecord is one earlier attempt of an execution. The attempt that
// ends an execution with the package's own result (succeeded, failed,
// canceled) is described by the execution's fields, not by a record; a lost
// last attempt (ended_unexpectedly, or canceled while stopping) has one.
type AttemptRecord struct {
	Attempt   int       `json:"attempt"`
	WorkerID  string    `json:"worker_id"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	Outcome   Outcome   `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
}

// Stages are the moments an execution went through, for its current
// (last) attempt:
//   - Accepted: the API recorded it (created_at).
//   - Enqueued: its message was sent. The API sends right after recording
//     (a failed send fails the execution), so Enqueued is Accepted unless
//     the message was sent again later: by a retry or a release of a worker
//     (then it is the time the message became due) or by the reconciler.
//   - Claimed: a worker claimed it (the claim write).
//   - Started: the package started. The worker starts it right after the
//     claim, without another write, so Started is Claimed.
//   - Ended: it reached its final status.
type Stages struct {
	Accepted time.Time  `json:"accepted"`
	Enqueued *time.Time `json:"enqueued,omitempty"`
	Claimed  *time.Time `json:"claimed,omitempty"`
	Started  *time.Time `json:"started,omitempty"`
	Ended    *time.Time `json:"ended,omitempty"`
}

// CountedAttempts is how many attempts, the current one included, count
// against the package-failure budget (Retries): the current one and every
// earlier one whose package failed. Released and lost attempts are not
// counted there (lost ones have their own budget, LostRetries).
func (e Execution) CountedAttempts() int { return 1 + e.attemptsWith(OutcomeFailed) }

// LostAttempts is how many earlier attempts were lost.
func (e Execution) LostAttempts() int { return e.attemptsWith(OutcomeLost) }

func (e Execution) attemptsWith(o Outcome) int {
	n := 0
	for _, a := range e.Attempts {
		if a.Outcome == o {
			n++
		}
	}
	return n
}

// CanRetry reports whether the current attempt, should its package fail,
// leaves a retry: the attempts that count, this one included, are at most
// Retries (so 1 + Retries package runs in all).
func (e Execution) CanRetry() bool { return e.CountedAttempts() <= e.Retries }

// CanRetryLost reports whether the current attempt, should it be lost,
// leaves another attempt: the lost attempts, this one included, are at
// most LostRetries.
func (e Execution) CanRetryLost() bool { return e.LostAttempts()+1 <= e.LostRetries }
