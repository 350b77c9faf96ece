package execution

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/scaleout/scaleout/scaleouttype"
)

// The shared types live in scaleouttype, so that callers of the HTTP API
// link none of this package's users; these names keep the domain's code
// reading as it did.
type (
	// Status is where an execution stands.
	Status = scaleouttype.Status
	// Execution is one run of one package.
	Execution = scaleouttype.Execution
	// TaskSummary is how one task of the package ended.
	TaskSummary = scaleouttype.TaskSummary
	// Stages are the moments an execution went through.
	Stages = scaleouttype.Stages
	// Outcome is how an attempt that did not end its execution ended.
	Outcome = scaleouttype.Outcome
	// AttemptRecord is one earlier attempt of an execution.
	AttemptRecord = scaleouttype.AttemptRecord
)

// Statuses, as the SSIS catalog has them.
const (
	Created           = scaleouttype.Created
	Pending           = scaleouttype.Pending
	Running           = scaleouttype.Running
	Stopping          = scaleouttype.Stopping
	Canceled          = scaleouttype.Canceled
	Failed            = scaleouttype.Failed
	Succeeded         = scaleouttype.Succeeded
	EndedUnexpectedly = scaleouttype.EndedUnexpectedly
)

// Attempt outcomes (see scaleouttype.Outcome).
const (
	OutcomeFailed   = scaleouttype.OutcomeFailed
	OutcomeLost     = scaleouttype.OutcomeLost
	OutcomeReleased = scaleouttype.OutcomeReleased
)

// Statuses lists every status in lifecycle order.
var Statuses = scaleouttype.Statuses

// MaxTaskSummaries caps the task summaries kept on an execution; the
// messages keep everything.
const MaxTaskSummaries = 200

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
