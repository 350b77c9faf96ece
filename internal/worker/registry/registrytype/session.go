package registrytype

import (
	"errors"
	"time"
)

// Session errors; check them with errors.Is.
var (
	// ErrSessionLive: Register found the worker id held by a session whose
	// lease has not run out (another process with the same id, or this
	// one's previous run, killed less than a lease ago). Retry after the
	// lease ends, or give each worker process its own id.
	ErrSessionLive = errors.New("worker id held by a live session")
	// ErrSessionLost: the session can no longer be renewed: its lease ran
	// out, or a newer session of the same worker id replaced it. Every
	// execution it held is lost to it; the worker must register again.
	ErrSessionLost = errors.New("worker session lost")
	// ErrBusy: Remove refused a worker whose live session still runs
	// executions.
	ErrBusy = errors.New("worker busy")
)

// Session is one run of a worker process: the lease every execution it
// claims is held under. The worker renews it every lease/2; an execution
// names the session that claimed it, so a takeover is fenced on the session
// (see SessionState.Holds and StillAsSeen).
type Session struct {
	WorkerID string
	ID       string
	// LeaseUntil is when the lease runs out unless renewed.
	LeaseUntil time.Time
}

// Run is an execution attempt a session runs, as the session records it at
// each renewal.
type Run struct {
	ExecutionID string
	Attempt     int
}

// Signals are what a worker learns from its session item: whether it may
// take work, and which of its executions an operator asked to stop.
type Signals struct {
	Enabled bool
	// Stops are the ids of executions to stop (stop requests are added by
	// the API, removed by the worker's renewal once handled).
	Stops []string
	// Session is the worker's current session id: another one than the
	// caller's means the caller's session was replaced.
	Session string
}

// SessionState is a worker's session as stored, read by whoever must decide
// whether an execution's holder is alive.
type SessionState struct {
	WorkerID   string
	ID         string
	LeaseUntil time.Time
	SignedOff  bool
	// Renewed is the session's last renewal (or registration).
	Renewed time.Time
	// Lease is the session's lease length (what each renewal extends it
	// by); 0 when not known.
	Lease time.Duration
	Runs  []Run
	// Exists is false when the worker has no registry item (removed or
	// expired).
	Exists bool
}

// Holds reports whether the session with id is the one stored and alive at
// now: it exists, is the current one, did not sign off and its lease has
// not run out.
func (s SessionState) Holds(id string, now time.Time) bool {
	return s.Exists && s.ID == id && !s.SignedOff && s.LeaseUntil.After(now)
}

// Records reports whether the session records run among what it runs.
func (s SessionState) Records(executionID string, attempt int) bool {
	for _, r := range s.Runs {
		if r.ExecutionID == executionID && r.Attempt == attempt {
			return true
		}
	}
	return false
}

// Abandoned reports whether the live session st no longer runs the attempt
// it claimed at claimed: a renewal a whole lease after the claim did not
// record it (the worker let it go without recording its end, e.g. when that
// write failed). A claim is recorded by the first renewal after it returns,
// well within a lease however slow the claim; a session whose lease length
// is not known is never taken for abandoning anything.
func (s SessionState) Abandoned(executionID string, attempt int, claimed time.Time) bool {
	return s.Lease > 0 && s.Renewed.After(claimed.Add(s.Lease)) && !s.Records(executionID, attempt)
}
