package execution

import (
	"fmt"
	"time"
)

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

// Takeover is what happens to an attempt whose worker was lost.
type Takeover struct {
	// Next is the execution's next status: Running (another attempt takes
	// over at once), Pending (it waits for a worker), Canceled (it was
	// being stopped) or EndedUnexpectedly (no retries left).
	Next Status
	// Record describes the lost attempt.
	Record AttemptRecord
	// Reason is the execution's error when Next is final.
	Reason string
}

// Lost decides what becomes of e, whose attempt's session lease expired at
// expired, when another worker takes it over (rerun: Running) or when it is
// recovered without running it (rerun: Pending). e must be running or
// stopping.
func Lost(e Execution, rerun Status, expired time.Time) (Takeover, error) {
	if e.Status != Running && e.Status != Stopping {
		return Takeover{}, fmt.Errorf("execution %s is %s: only a running or stopping attempt can be lost", e.ID, e.Status)
	}
	lost := fmt.Sprintf("worker %s lost attempt %d (its lease expired at %s)", e.WorkerID, e.Attempt, expired.UTC().Format(time.RFC3339Nano))
	t := Takeover{Record: AttemptRecord{Attempt: e.Attempt, WorkerID: e.WorkerID, EndedAt: expired.UTC(), Outcome: OutcomeLost, Reason: lost}}
	if e.StartedAt != nil {
		t.Record.StartedAt = *e.StartedAt
	}
	switch {
	case e.Status == Stopping:
		t.Next, t.Reason = Canceled, "stopped by request; "+lost
	case e.CanRetryLost():
		t.Next = rerun
	default:
		t.Next, t.Reason = EndedUnexpectedly, fmt.Sprintf("%s; no lost-attempt retries left (lost_retries %d)", lost, e.LostRetries)
	}
	return t, nil
}
