package execstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker/registry"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Claim starts a new attempt of execution id held by the worker session
// sess, and returns the claimed execution.
//
// A pending execution is claimed once its retry backoff (NotBefore) has
// passed. A running or stopping execution whose holding session is dead
// (its lease ran out, it was replaced by a newer session of its worker, or
// the worker is gone) is taken over, fenced on the lost attempt (status,
// worker, session, attempt) and on the session staying as seen: if its
// lost-attempt budget allows, sess runs it as the next attempt at once; a
// stopping one ends canceled and one with no lost retries left ends
// ended_unexpectedly, and Claim returns a *execution.ConflictError holding
// the final execution. An execution held by a live session gives a
// *execution.ConflictError whose Current has LeaseUntil set to that
// session's lease. In every other case it returns a *execution.ConflictError
// holding the stored execution.
func (s *Store) Claim(ctx context.Context, id string, sess registry.Session, now time.Time) (execution.Execution, error) {
	values := map[string]types.AttributeValue{
		":worker":  str(sess.WorkerID),
		":session": str(sess.ID),
		":now":     num(ms(now)),
		":one":     num(1),
	}
	names := map[string]string{"#session": "session"}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       key(id),
		ConditionExpression: aws.String(statusCondition(execution.OpClaim, execution.Running, names, values) +
			" AND (attribute_not_exists(not_before) OR not_before <= :now)"),
		UpdateExpression: aws.String(withStatusKey("SET "+setStatus(execution.Running, values)+", worker_id = :worker, #session = :session, "+
			"started_at = :now, attempt = attempt + :one REMOVE not_before", id, execution.Running, values)),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return Decode(out.Attributes)
	}
	err = s.conflict(id, "pending", err)
	var ce *execution.ConflictError
	if !errors.As(err, &ce) || ce.Current == nil || !held(*ce.Current) {
		return execution.Execution{}, err
	}
	st, err := s.holder(ctx, *ce.Current)
	if err != nil {
		return execution.Execution{}, err
	}
	if st.Holds(ce.Current.Session, now) {
		until := st.LeaseUntil
		ce.Current.LeaseUntil = &until
		return execution.Execution{}, ce
	}
	return s.lost(ctx, *ce.Current, st, &sess, now)
}

// held reports whether e is held by an attempt (running or stopping).
func held(e execution.Execution) bool {
	return e.Status == execution.Running || e.Status == execution.Stopping
}

// holder reads the session that holds e's attempt. With SessionCacheFor
// set, a session read that recently is not read again (see
// SessionCacheFor).
func (s *Store) holder(ctx context.Context, e execution.Execution) (registry.SessionState, error) {
	if s.sessions == nil {
		return registry.SessionState{}, fmt.Errorf("execution %s: this store was built without the worker registry, so it cannot tell whether worker %s is alive", e.ID, e.WorkerID)
	}
	if s.SessionCacheFor <= 0 {
		return s.sessions.SessionOf(ctx, e.WorkerID)
	}
	now := time.Now()
	s.cacheMu.Lock()
	c, ok := s.sessionCache[e.WorkerID]
	s.cacheMu.Unlock()
	if ok && now.Sub(c.at) < s.SessionCacheFor {
		return c.state, nil
	}
	st, err := s.sessions.SessionOf(ctx, e.WorkerID)
	if err != nil {
		return st, err
	}
	s.cacheMu.Lock()
	if s.sessionCache == nil || len(s.sessionCache) > 10_000 {
		s.sessionCache = map[string]cachedSession{}
	}
	s.sessionCache[e.WorkerID] = cachedSession{state: st, at: now}
	s.cacheMu.Unlock()
	return st, nil
}

type cachedSession struct {
	state registry.SessionState
	at    time.Time
}

// expiredAt is when the attempt of cur, held by a session now dead as st
// shows, was lost: its lease's end if st is still that session, else now
// (the session was replaced or removed; when exactly is not known).
func expiredAt(cur execution.Execution, st registry.SessionState, now time.Time) time.Time {
	if st.Exists && st.ID == cur.Session && st.LeaseUntil.Before(now) {
		return st.LeaseUntil
	}
	return now
}

// lost applies the lost-attempt rule (execution.Lost) to cur, whose session
// st is dead: with sess it runs the next attempt itself (a takeover), with
// nil it goes back to pending (the caller sends its message). It is one
// transaction: the execution's write, fenced on the lost attempt, and a
// condition that the session did not renew since st was read.
func (s *Store) lost(ctx context.Context, cur execution.Execution, st registry.SessionState, sess *registry.Session, now time.Time) (execution.Execution, error) {
	rerun := execution.Pending
	if sess != nil {
		rerun = execution.Running
	}
	t, err := execution.Lost(cur, rerun, expiredAt(cur, st, now))
	if err != nil {
		return execution.Execution{}, err
	}
	in, err := s.lostUpdate(cur, t, now)
	if err != nil {
		return execution.Execution{}, err
	}
	if t.Next == execution.Running {
		in.UpdateExpression = aws.String(withStatusKey("SET worker_id = :worker, #session = :session, started_at = :now, "+
			"attempt = attempt + :one, attempts = list_append(if_not_exists(attempts, :empty), :rec)", cur.ID, t.Next, in.ExpressionAttributeValues))
		in.ExpressionAttributeValues[":worker"] = str(sess.WorkerID)
		in.ExpressionAttributeValues[":session"] = str(sess.ID)
		in.ExpressionAttributeValues[":one"] = num(1)
	}
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	var check string
	if st.Holds(cur.Session, now) { // alive, but no longer runs it (see Recover)
		check = registry.StillWithout(st, cur.ID, cur.Attempt, names, values)
	} else {
		check = registry.StillAsSeen(st, names, values)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.catalog), Key: registry.Key(cur.WorkerID), ConditionExpression: aws.String(check),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}},
		{Update: &types.Update{
			TableName: in.TableName, Key: in.Key, ConditionExpression: in.ConditionExpression,
			UpdateExpression: in.UpdateExpression, ExpressionAttributeNames: in.ExpressionAttributeNames,
			ExpressionAttributeValues: in.ExpressionAttributeValues,
		}},
	}})
	if err != nil {
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return execution.Execution{}, fmt.Errorf("record the lost attempt %d of execution %s: %w", cur.Attempt, cur.ID, err)
		}
		// The execution moved on (a conflict: say how it stands now), or
		// it did not and the session's condition failed or the
		// transaction met another one: an error to try again on, never
		// taken for done.
		got, gerr := s.Get(ctx, cur.ID)
		if gerr != nil {
			return execution.Execution{}, gerr
		}
		if held(got) && got.Session == cur.Session && got.Attempt == cur.Attempt {
			return execution.Execution{}, fmt.Errorf("record the lost attempt %d of execution %s: the session of worker %s changed since it was read, "+
				"or the write met another one (%s); look again: %w", cur.Attempt, cur.ID, cur.WorkerID, reasons(tce), errTryAgain)
		}
		return execution.Execution{}, &execution.ConflictError{ID: cur.ID, Want: fmt.Sprintf("held by the dead session of worker %q attempt %d", cur.WorkerID, cur.Attempt), Current: &got}
	}
	e, err := s.Get(ctx, cur.ID)
	if err != nil {
		return e, err
	}
	if t.Next == rerun {
		return e, nil
	}
	return execution.Execution{}, &execution.ConflictError{ID: cur.ID, Want: "pending", Current: &e}
}

// Recover applies the lost-attempt rule to cur, held by a session that has
// been dead since before deadSince (the reconciler passes a time well past
// the lease, so that a worker receiving the message or the session's
// watchdog acts first), or by a live session that abandoned it (a renewal
// since the claim did not record it), without running it: it goes back to pending (the
// caller sends its message again) if its lost-attempt budget allows, else
// it ends. A live session, or one that died after deadSince, gives a
// *execution.ConflictError.
func (s *Store) Recover(ctx context.Context, cur execution.Execution, now, deadSince time.Time) (execution.Execution, error) {
	if !held(cur) {
		return execution.Execution{}, &execution.ConflictError{ID: cur.ID, Want: "running or stopping", Current: &cur}
	}
	st, err := s.holder(ctx, cur)
	if err != nil {
		return execution.Execution{}, err
	}
	abandoned := cur.StartedAt != nil && st.Holds(cur.Session, now) && st.Abandoned(cur.ID, cur.Attempt, *cur.StartedAt)
	if st.Holds(cur.Session, deadSince) && !abandoned {
		until := st.LeaseUntil
		cur.LeaseUntil = &until
		return execution.Execution{}, &execution.ConflictError{ID: cur.ID, Want: "held by a session dead since " + deadSince.UTC().Format(time.RFC3339), Current: &cur}
	}
	e, err := s.lost(ctx, cur, st, nil, now)
	var ce *execution.ConflictError
	if errors.As(err, &ce) && ce.Current != nil && ce.Current.Status.Final() && ce.Want == "pending" {
		return *ce.Current, nil // the lost attempt ended it
	}
	return e, err
}

// Reap recovers run, an attempt the dead session st recorded, unless the
// execution moved on since (then it reports false): the run goes back to
// pending (the caller sends its message) or ends, as Recover does.
func (s *Store) Reap(ctx context.Context, st registry.SessionState, run registry.Run, now time.Time) (execution.Execution, bool, error) {
	cur, err := s.Get(ctx, run.ExecutionID)
	if errors.Is(err, scaleouttype.ErrNotFound) {
		return execution.Execution{}, false, nil
	}
	if err != nil {
		return execution.Execution{}, false, err
	}
	if !held(cur) || cur.Session != st.ID || cur.Attempt != run.Attempt {
		return cur, false, nil
	}
	e, err := s.Recover(ctx, cur, now, now)
	var ce *execution.ConflictError
	if errors.As(err, &ce) {
		return e, false, nil
	}
	return e, err == nil, err
}

// lostUpdate is the write that records cur's lost attempt and moves it to
// t.Next (pending or final; lost replaces the update for running).
func (s *Store) lostUpdate(cur execution.Execution, t execution.Takeover, now time.Time) (*dynamodb.UpdateItemInput, error) {
	rec, err := attributevalue.Marshal([]attemptItem{toAttemptItem(t.Record)})
	if err != nil {
		return nil, fmt.Errorf("encode attempt of %s: %w", cur.ID, err)
	}
	op := execution.OpRecover
	if t.Next == execution.Running {
		op = execution.OpTakeOver
	}
	if tr, err := execution.TransitionOf(op, t.Next); err != nil || !tr.Allows(cur.Status) {
		return nil, fmt.Errorf("execution %s: %s from %s to %s is not in the status table", cur.ID, op, cur.Status, t.Next)
	}
	values := map[string]types.AttributeValue{
		":seen_worker":  str(cur.WorkerID),
		":seen_attempt": num(int64(cur.Attempt)),
		":seen_session": str(cur.Session),
		":now":          num(ms(now)),
		":rec":          rec,
		":empty":        &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
	}
	names := map[string]string{"#session": "session"}
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       key(cur.ID),
		ConditionExpression: aws.String(statusCondition(op, t.Next, names, values) + " AND worker_id = :seen_worker AND " +
			"attempt = :seen_attempt AND #session = :seen_session"),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	switch {
	case t.Next == execution.Pending:
		in.UpdateExpression = aws.String(withStatusKey("SET "+setStatus(t.Next, values)+", enqueued_at = :now, "+
			"attempts = list_append(if_not_exists(attempts, :empty), :rec) REMOVE #session, not_before", cur.ID, t.Next, values))
	case t.Next.Final():
		values[":why"] = str(t.Reason)
		in.ExpressionAttributeNames["#error"] = "error"
		in.UpdateExpression = aws.String(withStatusKey("SET "+setStatus(t.Next, values)+", ended_at = :now, #error = :why, "+
			"attempts = list_append(if_not_exists(attempts, :empty), :rec)", cur.ID, t.Next, values))
	}
	return in, nil
}

// Retry ends the attempt that holds l, whose package failed, with outcome
// failed and moves the execution back to pending; no worker claims it
// before notBefore (its backoff). The execution must be running (a
// stopping one is finished instead: the caller gets a LeaseLost holding it).
func (s *Store) Retry(ctx context.Context, l execution.Lease, rec execution.AttemptRecord, notBefore time.Time) (execution.Execution, error) {
	rec.Outcome = execution.OutcomeFailed
	return s.handBack(ctx, execution.OpRetry, l, rec, notBefore)
}

// Release hands the attempt that holds l back (outcome released, not
// counted against retries): the execution is pending again at once, for
// another worker. Like Retry, it needs the execution running.
func (s *Store) Release(ctx context.Context, l execution.Lease, rec execution.AttemptRecord) (execution.Execution, error) {
	rec.Outcome = execution.OutcomeReleased
	return s.handBack(ctx, execution.OpRelease, l, rec, time.Time{})
}

func (s *Store) handBack(ctx context.Context, op execution.Op, l execution.Lease, rec execution.AttemptRecord, notBefore time.Time) (execution.Execution, error) {
	rec.Attempt, rec.WorkerID = l.Attempt, l.WorkerID
	recAV, err := attributevalue.Marshal([]attemptItem{toAttemptItem(rec)})
	if err != nil {
		return execution.Execution{}, fmt.Errorf("encode attempt of %s: %w", l.ID, err)
	}
	due := rec.EndedAt
	values := map[string]types.AttributeValue{
		":rec":   recAV,
		":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
	}
	names := map[string]string{}
	cond := leaseCondition(op, execution.Pending, l, names, values)
	set := "SET " + setStatus(execution.Pending, values) + ", enqueued_at = :due, attempts = list_append(if_not_exists(attempts, :empty), :rec)"
	remove := " REMOVE #session, not_before"
	if !notBefore.IsZero() {
		due = notBefore
		set += ", not_before = :due"
		remove = " REMOVE #session"
	}
	values[":due"] = num(ms(due))
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(l.ID),
		ConditionExpression:                 aws.String(cond),
		UpdateExpression:                    aws.String(withStatusKey(set+remove, l.ID, execution.Pending, values)),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return execution.Execution{}, s.leaseLost(l, err)
	}
	return Decode(out.Attributes)
}

// MarkEnqueued records that the reconciler sends e's message again (and
// counts it in Requeues), unless
// e changed since it was read (then a *execution.ConflictError): of two
// reconcilers, only one sends.
func (s *Store) MarkEnqueued(ctx context.Context, e execution.Execution, now time.Time) error {
	values := map[string]types.AttributeValue{
		":attempt": num(int64(e.Attempt)),
		":now":     num(ms(now)),
		":zero":    num(0),
		":one":     num(1),
	}
	names := map[string]string{}
	cond := statusCondition(execution.OpRequeue, execution.Pending, names, values) + " AND attempt = :attempt AND attribute_not_exists(enqueued_at)"
	if e.EnqueuedAt != nil {
		cond = statusCondition(execution.OpRequeue, execution.Pending, names, values) + " AND attempt = :attempt AND enqueued_at = :seen"
		values[":seen"] = num(ms(*e.EnqueuedAt))
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(e.ID),
		ConditionExpression:                 aws.String(cond),
		UpdateExpression:                    aws.String("SET enqueued_at = :now, requeues = if_not_exists(requeues, :zero) + :one"),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return s.conflict(e.ID, "pending as read", err)
	}
	return nil
}

// errTryAgain marks a takeover or recovery that did not apply although the
// execution is where it was: the decision must be made again.
var errTryAgain = errors.New("try again")
