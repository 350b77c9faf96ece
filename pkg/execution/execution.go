package execution

import (
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

var transitions = map[Status][]Status{
	Created:  {Pending, Canceled, Failed},
	Pending:  {Running, Stopping, Canceled, Failed, EndedUnexpectedly},
	Running:  {Pending, Stopping, Succeeded, Failed, Canceled, EndedUnexpectedly},
	Stopping: {Canceled, Succeeded, Failed, EndedUnexpectedly},
}

// From lists the statuses from which a transition to s is allowed.
func From(to Status) []Status {
	var out []Status
	for _, from := range Statuses {
		if CanTransition(from, to) {
			out = append(out, from)
		}
	}
	return out
}

// CanTransition reports whether an execution may move from one status to
// another. Running → pending is a retry after a lost attempt.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
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
	// Command is what the worker runs until packages are run by the engine.
	Command []string `json:"command,omitempty"`
	// Attempt counts claims; the current attempt holds the lease.
	Attempt    int        `json:"attempt"`
	WorkerID   string     `json:"worker_id,omitempty"`
	LeaseUntil *time.Time `json:"lease_until,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	ExitCode   *int       `json:"exit_code,omitempty"`
	// Error says why a failed execution failed.
	Error string `json:"error,omitempty"`
	// Output is the capped tail of the command's output.
	Output string `json:"output,omitempty"`
}

// Ref names the package an execution runs.
func (e Execution) Ref() string { return e.Folder + "/" + e.Project + "/" + e.Package }

// Lease identifies the attempt a worker holds: every write the worker makes
// after its claim is conditional on it.
type Lease struct {
	ID       string
	WorkerID string
	Attempt  int
}

// LeaseOf returns the lease of e's current attempt.
func LeaseOf(e Execution) Lease { return Lease{ID: e.ID, WorkerID: e.WorkerID, Attempt: e.Attempt} }

// Result is what a finished attempt reports.
type Result struct {
	Status   Status
	ExitCode *int
	Error    string
	Output   string
}

// Limits on what a submission may carry.
const (
	MaxCommandArgs = 256
	MaxCommandLen  = 64 << 10
)

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
	switch {
	case len(e.Command) == 0:
		errs = append(errs, errors.New(`command: give the program and its arguments, for example ["sh", "-c", "echo hello"]`))
	case len(e.Command) > MaxCommandArgs:
		errs = append(errs, fmt.Errorf("command: %d arguments, at most %d", len(e.Command), MaxCommandArgs))
	case e.Command[0] == "":
		errs = append(errs, errors.New("command[0]: the program name is empty"))
	}
	n := 0
	for _, a := range e.Command {
		n += len(a)
	}
	if n > MaxCommandLen {
		errs = append(errs, fmt.Errorf("command: %d bytes, at most %d", n, MaxCommandLen))
	}
	return errors.Join(errs...)
}
