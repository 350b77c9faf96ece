package execution

import (
	"fmt"
	"time"
)

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
