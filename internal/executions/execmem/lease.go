package execmem

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
	"github.com/scaleout/scaleout/scaleouttype"
)

// held reports whether e is held by an attempt (running or stopping).
func held(e execution.Execution) bool {
	return e.Status == execution.Running || e.Status == execution.Stopping
}

// Claim starts a new attempt of execution id held by the worker session
// sess, and returns the claimed execution: a pending one once its retry
// backoff (NotBefore) has passed, or a running or stopping one whose
// session is dead (a takeover, by the lost-attempt rule: sess runs it as
// the next attempt if its budget allows; a stopping one ends canceled and
// one with no lost retries left ended_unexpectedly, returned in a
// *execution.ConflictError). An execution held by a live session gives a
// *execution.ConflictError whose Current has LeaseUntil set to that
// session's lease; anything else a *execution.ConflictError holding the
// stored execution.
func (s *Store) Claim(_ context.Context, id string, sess registrytype.Session, now time.Time) (execution.Execution, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	cur, ok := s.st.read(id)
	if !ok {
		return execution.Execution{}, s.st.conflict(id, "pending")
	}
	if allows(execution.OpClaim, cur.Status, execution.Running) && (cur.NotBefore == nil || cur.NotBefore.UnixMilli() <= now.UnixMilli()) {
		cur.Status, cur.WorkerID, cur.Session, cur.StartedAt = execution.Running, sess.WorkerID, sess.ID, &now
		cur.Attempt++
		cur.NotBefore = nil
		if err := s.st.write(cur); err != nil {
			return execution.Execution{}, err
		}
		got, _ := s.st.read(id)
		return got, nil
	}
	if !held(cur) {
		return execution.Execution{}, &execution.ConflictError{ID: id, Want: "pending", Current: &cur}
	}
	st := s.st.sessionOf(cur.WorkerID)
	if st.Holds(cur.Session, now) {
		until := st.LeaseUntil
		cur.LeaseUntil = &until
		return execution.Execution{}, &execution.ConflictError{ID: id, Want: "pending", Current: &cur}
	}
	return s.st.lost(cur, st, &sess, now)
}

// expiredAt is when the attempt of cur, held by a session now dead as st
// shows, was lost: its lease's end if st is still that session, else now.
func expiredAt(cur execution.Execution, st registrytype.SessionState, now time.Time) time.Time {
	if st.Exists && st.ID == cur.Session && st.LeaseUntil.Before(now) {
		return st.LeaseUntil
	}
	return now
}

// errTryAgain marks a recovery that did not apply although the execution
// is where it was: the decision must be made again.
var errTryAgain = errors.New("try again")

// lost applies the lost-attempt rule (execution.Lost) to cur, as the
// caller read it, whose session st is dead (the lock held): with sess it
// runs the next attempt itself (a takeover), with nil it goes back to
// pending. It needs the stored execution still held by cur's attempt, in
// a status the status table lets the operation leave.
func (st *state) lost(cur execution.Execution, ss registrytype.SessionState, sess *registrytype.Session, now time.Time) (execution.Execution, error) {
	rerun := execution.Pending
	if sess != nil {
		rerun = execution.Running
	}
	t, err := execution.Lost(cur, rerun, expiredAt(cur, ss, now))
	if err != nil {
		return execution.Execution{}, err
	}
	op := execution.OpRecover
	if t.Next == execution.Running {
		op = execution.OpTakeOver
	}
	if tr, err := execution.TransitionOf(op, t.Next); err != nil || !tr.Allows(cur.Status) {
		return execution.Execution{}, fmt.Errorf("execution %s: %s from %s to %s is not in the status table", cur.ID, op, cur.Status, t.Next)
	}
	got, ok := st.read(cur.ID)
	if !ok {
		return execution.Execution{}, fmt.Errorf("execution %s: %w", cur.ID, scaleouttype.ErrNotFound)
	}
	if !holds(got, execution.LeaseOf(cur)) || !held(got) {
		return execution.Execution{}, &execution.ConflictError{ID: cur.ID,
			Want: fmt.Sprintf("held by the dead session of worker %q attempt %d", cur.WorkerID, cur.Attempt), Current: &got}
	}
	if !allows(op, got.Status, t.Next) {
		return execution.Execution{}, fmt.Errorf("record the lost attempt %d of execution %s: it is %s now, not %s as read; look again: %w",
			cur.Attempt, cur.ID, got.Status, cur.Status, errTryAgain)
	}
	got.Attempts = append(got.Attempts, t.Record)
	switch {
	case t.Next == execution.Running:
		got.WorkerID, got.Session, got.StartedAt = sess.WorkerID, sess.ID, &now
		got.Attempt++
	case t.Next == execution.Pending:
		got.Status, got.EnqueuedAt, got.Session, got.NotBefore = t.Next, &now, "", nil
	default: // final
		got.Status, got.EndedAt, got.Error = t.Next, &now, t.Reason
	}
	if err := st.write(got); err != nil {
		return execution.Execution{}, err
	}
	e, _ := st.read(cur.ID)
	if t.Next == rerun {
		return e, nil
	}
	return execution.Execution{}, &execution.ConflictError{ID: cur.ID, Want: "pending", Current: &e}
}

// Recover applies the lost-attempt rule to cur, held by a session dead
// since before deadSince, or by a live session that abandoned it (a
// renewal a lease after the claim did not record it), without running it:
// pending again if its lost-attempt budget allows, else ended. A live
// session, or one that died after deadSince, gives a
// *execution.ConflictError.
func (s *Store) Recover(_ context.Context, cur execution.Execution, now, deadSince time.Time) (execution.Execution, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.recover(cur, now, deadSince)
}

func (st *state) recover(cur execution.Execution, now, deadSince time.Time) (execution.Execution, error) {
	if !held(cur) {
		return execution.Execution{}, &execution.ConflictError{ID: cur.ID, Want: "running or stopping", Current: &cur}
	}
	ss := st.sessionOf(cur.WorkerID)
	abandoned := cur.StartedAt != nil && ss.Holds(cur.Session, now) && ss.Abandoned(cur.ID, cur.Attempt, *cur.StartedAt)
	if ss.Holds(cur.Session, deadSince) && !abandoned {
		until := ss.LeaseUntil
		cur.LeaseUntil = &until
		return execution.Execution{}, &execution.ConflictError{ID: cur.ID, Want: "held by a session dead since " + deadSince.UTC().Format(time.RFC3339), Current: &cur}
	}
	e, err := st.lost(cur, ss, nil, now)
	var ce *execution.ConflictError
	if errors.As(err, &ce) && ce.Current != nil && ce.Current.Status.Final() && ce.Want == "pending" {
		return *ce.Current, nil // the lost attempt ended it
	}
	return e, err
}

// Reap recovers run, an attempt the dead session ss recorded, unless the
// execution moved on since (then it reports false): the run goes back to
// pending or ends, as Recover does.
func (s *Store) Reap(_ context.Context, ss registrytype.SessionState, run registrytype.Run, now time.Time) (execution.Execution, bool, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	cur, ok := s.st.read(run.ExecutionID)
	if !ok {
		return execution.Execution{}, false, nil
	}
	if !held(cur) || cur.Session != ss.ID || cur.Attempt != run.Attempt {
		return cur, false, nil
	}
	e, err := s.st.recover(cur, now, now)
	var ce *execution.ConflictError
	if errors.As(err, &ce) {
		return e, false, nil
	}
	return e, err == nil, err
}

// Finish records the final result of the attempt that holds l, cut to
// what an execution keeps (execution.Result.Fit). Without the lease, an
// error matching execution.ErrLeaseLost; the same Finish again (a resend
// whose first answer was lost) returns what it recorded.
func (s *Store) Finish(_ context.Context, l execution.Lease, r execution.Result, now time.Time) (execution.Execution, error) {
	if !r.Status.Final() {
		return execution.Execution{}, fmt.Errorf("finish execution %s: %q is not a final status", l.ID, r.Status)
	}
	r = r.Fit()
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	cur, ok := s.st.read(l.ID)
	if !ok || !allows(execution.OpFinish, cur.Status, r.Status) || !holds(cur, l) {
		if ok && cur.Status == r.Status && holds(cur, l) && cur.EndedAt != nil && cur.EndedAt.UnixMilli() == now.UnixMilli() {
			return cur, nil // this very write, sent again
		}
		return execution.Execution{}, s.st.leaseLost(l)
	}
	cur.Status, cur.EndedAt, cur.Error, cur.Tasks, cur.TasksOmitted = r.Status, &now, r.Error, r.Tasks, r.TasksOmitted
	if err := s.st.write(cur); err != nil {
		return execution.Execution{}, err
	}
	got, _ := s.st.read(l.ID)
	return got, nil
}

// Retry ends the attempt that holds l, whose package failed, with outcome
// failed and moves the execution back to pending; no worker claims it
// before notBefore. The execution must be running: a stopping one is
// finished instead (the caller gets an error matching
// execution.ErrLeaseLost holding it).
func (s *Store) Retry(_ context.Context, l execution.Lease, rec execution.AttemptRecord, notBefore time.Time) (execution.Execution, error) {
	rec.Outcome = execution.OutcomeFailed
	return s.handBack(execution.OpRetry, l, rec, notBefore)
}

// Release hands the attempt that holds l back (outcome released, not
// counted against retries): pending again at once. Like Retry, it needs
// the execution running.
func (s *Store) Release(_ context.Context, l execution.Lease, rec execution.AttemptRecord) (execution.Execution, error) {
	rec.Outcome = execution.OutcomeReleased
	return s.handBack(execution.OpRelease, l, rec, time.Time{})
}

func (s *Store) handBack(op execution.Op, l execution.Lease, rec execution.AttemptRecord, notBefore time.Time) (execution.Execution, error) {
	rec.Attempt, rec.WorkerID = l.Attempt, l.WorkerID
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	cur, ok := s.st.read(l.ID)
	if !ok || !allows(op, cur.Status, execution.Pending) || !holds(cur, l) {
		return execution.Execution{}, s.st.leaseLost(l)
	}
	due := rec.EndedAt
	cur.NotBefore = nil
	if !notBefore.IsZero() {
		due = notBefore
		cur.NotBefore = &notBefore
	}
	cur.Status, cur.EnqueuedAt, cur.Session = execution.Pending, &due, ""
	cur.Attempts = append(cur.Attempts, rec)
	if err := s.st.write(cur); err != nil {
		return execution.Execution{}, err
	}
	got, _ := s.st.read(l.ID)
	return got, nil
}
