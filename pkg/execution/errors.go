package execution

import (
	"errors"
	"fmt"
)

// ErrExists is returned when creating an execution whose id is taken.
var ErrExists = errors.New("execution already exists")

// ConflictError is returned when a conditional transition did not apply
// because the execution was not where the caller expected it.
type ConflictError struct {
	ID string
	// Want is the state the caller required.
	Want string
	// Current is the execution as stored, when known.
	Current *Execution
}

func (e *ConflictError) Error() string {
	if e.Current == nil {
		return fmt.Sprintf("execution %s: not %s", e.ID, e.Want)
	}
	return fmt.Sprintf("execution %s is %s (attempt %d, worker %q), not %s",
		e.ID, e.Current.Status, e.Current.Attempt, e.Current.WorkerID, e.Want)
}

// ErrLeaseLost is matched (errors.Is) by a ConflictError on a write that
// required the caller's lease.
var ErrLeaseLost = errors.New("lease lost")

// LeaseLost wraps a conflict on a lease-holding write.
type LeaseLost struct{ *ConflictError }

// Is makes errors.Is(err, ErrLeaseLost) true.
func (LeaseLost) Is(target error) bool { return target == ErrLeaseLost }

// Unwrap returns the conflict.
func (l LeaseLost) Unwrap() error { return l.ConflictError }
