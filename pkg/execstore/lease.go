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

	"github.com/scaleout/scaleout/pkg/execution"
)

// Claim starts a new attempt of execution id for workerID, whose lease
// runs until leaseUntil, and returns the claimed execution.
//
// A pending execution is claimed once its retry backoff (NotBefore) has
// passed. A running or stopping execution whose lease expired before now
// (its worker was lost) is taken over, fenced on the lost attempt's
// status, worker, attempt and lease: if its retries allow, workerID runs it
// as the next attempt at once; a stopping one ends canceled and one with no
// retries left ends ended_unexpectedly, and Claim returns a
// *execution.ConflictError holding the final execution. In every other case
// it returns a *execution.ConflictError holding the stored execution.
func (s *Store) Claim(ctx context.Context, id, workerID string, now, leaseUntil time.Time) (execution.Execution, error) {
	values := map[string]types.AttributeValue{
		":pending": str(string(execution.Pending)),
		":running": str(string(execution.Running)),
		":worker":  str(workerID),
		":lease":   num(ms(leaseUntil)),
		":now":     num(ms(now)),
		":one":     num(1),
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(id),
		ConditionExpression: aws.String("#status = :pending AND (attribute_not_exists(not_before) OR not_before <= :now)"),
		UpdateExpression: aws.String(withStatusKey("SET #status = :running, worker_id = :worker, lease_until = :lease, "+
			"started_at = :now, attempt = attempt + :one REMOVE not_before", id, execution.Running, values)),
		ExpressionAttributeNames:            map[string]string{"#status": "status"},
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return Decode(out.Attributes)
	}
	err = s.conflict(id, "pending", err)
	var ce *execution.ConflictError
	if !errors.As(err, &ce) || ce.Current == nil || !Expired(*ce.Current, now) {
		return execution.Execution{}, err
	}
	return s.takeOver(ctx, *ce.Current, workerID, now, leaseUntil)
}

// Expired reports whether e is running or stopping under a lease that
// expired before now.
func Expired(e execution.Execution, now time.Time) bool {
	return (e.Status == execution.Running || e.Status == execution.Stopping) &&
		e.LeaseUntil != nil && e.LeaseUntil.Before(now)
}

// takeOver applies the lost-attempt rule (execution.Lost) to cur for
// workerID, which runs the next attempt if one is allowed.
func (s *Store) takeOver(ctx context.Context, cur execution.Execution, workerID string, now, leaseUntil time.Time) (execution.Execution, error) {
	t, err := execution.Lost(cur, execution.Running)
	if err != nil {
		return execution.Execution{}, err
	}
	in, err := s.lostUpdate(cur, t, now)
	if err != nil {
		return execution.Execution{}, err
	}
	if t.Next == execution.Running {
		in.UpdateExpression = aws.String(withStatusKey("SET worker_id = :worker, lease_until = :lease, started_at = :now, "+
			"attempt = attempt + :one, attempts = list_append(if_not_exists(attempts, :empty), :rec)", cur.ID, t.Next, in.ExpressionAttributeValues))
		in.ExpressionAttributeValues[":worker"] = str(workerID)
		in.ExpressionAttributeValues[":lease"] = num(ms(leaseUntil))
		in.ExpressionAttributeValues[":one"] = num(1)
	}
	out, err := s.db.UpdateItem(ctx, in)
	if err != nil {
		return execution.Execution{}, s.conflict(cur.ID, "an expired lease to take over", err)
	}
	e, err := Decode(out.Attributes)
	if err != nil {
		return e, err
	}
	if t.Next == execution.Running {
		return e, nil
	}
	return execution.Execution{}, &execution.ConflictError{ID: cur.ID, Want: "pending", Current: &e}
}

// Recover applies the lost-attempt rule to cur, whose lease expired and
// which no worker took over, without running it: it goes back to pending
// (the caller sends its message again) if its retries allow, else it ends.
// The write is fenced on the lost attempt like a takeover.
func (s *Store) Recover(ctx context.Context, cur execution.Execution, now time.Time) (execution.Execution, error) {
	if !Expired(cur, now) {
		return execution.Execution{}, fmt.Errorf("recover execution %s: its lease has not expired", cur.ID)
	}
	t, err := execution.Lost(cur, execution.Pending)
	if err != nil {
		return execution.Execution{}, err
	}
	in, err := s.lostUpdate(cur, t, now)
	if err != nil {
		return execution.Execution{}, err
	}
	out, err := s.db.UpdateItem(ctx, in)
	if err != nil {
		return execution.Execution{}, s.conflict(cur.ID, "an expired lease to recover", err)
	}
	return Decode(out.Attributes)
}

// lostUpdate is the write that records cur's lost attempt and moves it to
// t.Next (pending or final; takeOver replaces the update for running).
func (s *Store) lostUpdate(cur execution.Execution, t execution.Takeover, now time.Time) (*dynamodb.UpdateItemInput, error) {
	rec, err := attributevalue.Marshal([]attemptItem{toAttemptItem(t.Record)})
	if err != nil {
		return nil, fmt.Errorf("encode attempt of %s: %w", cur.ID, err)
	}
	values := map[string]types.AttributeValue{
		":seen_status":  str(string(cur.Status)),
		":seen_worker":  str(cur.WorkerID),
		":seen_attempt": num(int64(cur.Attempt)),
		":seen_lease":   num(ms(*cur.LeaseUntil)),
		":now":          num(ms(now)),
		":rec":          rec,
		":empty":        &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
	}
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       key(cur.ID),
		ConditionExpression: aws.String("#status = :seen_status AND worker_id = :seen_worker AND " +
			"attempt = :seen_attempt AND lease_until = :seen_lease"),
		ExpressionAttributeNames:            map[string]string{"#status": "status"},
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	switch {
	case t.Next == execution.Pending:
		values[":next"] = str(string(execution.Pending))
		in.UpdateExpression = aws.String(withStatusKey("SET #status = :next, enqueued_at = :now, "+
			"attempts = list_append(if_not_exists(attempts, :empty), :rec) REMOVE lease_until, not_before", cur.ID, t.Next, values))
	case t.Next.Final():
		values[":next"] = str(string(t.Next))
		values[":why"] = str(t.Reason)
		in.ExpressionAttributeNames["#error"] = "error"
		in.UpdateExpression = aws.String(withStatusKey("SET #status = :next, ended_at = :now, #error = :why, "+
			"attempts = list_append(if_not_exists(attempts, :empty), :rec) REMOVE lease_until", cur.ID, t.Next, values))
	}
	return in, nil
}

// Retry ends the attempt that holds l, whose package failed, with outcome
// failed and moves the execution back to pending; no worker claims it
// before notBefore (its backoff). The execution must be running (a
// stopping one is finished instead: the caller gets a LeaseLost holding it).
func (s *Store) Retry(ctx context.Context, l execution.Lease, rec execution.AttemptRecord, notBefore time.Time) (execution.Execution, error) {
	rec.Outcome = execution.OutcomeFailed
	return s.handBack(ctx, l, rec, notBefore)
}

// Release hands the attempt that holds l back (outcome released, not
// counted against retries): the execution is pending again at once, for
// another worker. Like Retry, it needs the execution running.
func (s *Store) Release(ctx context.Context, l execution.Lease, rec execution.AttemptRecord) (execution.Execution, error) {
	rec.Outcome = execution.OutcomeReleased
	return s.handBack(ctx, l, rec, time.Time{})
}

func (s *Store) handBack(ctx context.Context, l execution.Lease, rec execution.AttemptRecord, notBefore time.Time) (execution.Execution, error) {
	rec.Attempt, rec.WorkerID = l.Attempt, l.WorkerID
	recAV, err := attributevalue.Marshal([]attemptItem{toAttemptItem(rec)})
	if err != nil {
		return execution.Execution{}, fmt.Errorf("encode attempt of %s: %w", l.ID, err)
	}
	due := rec.EndedAt
	set := "SET #status = :pending, enqueued_at = :due, attempts = list_append(if_not_exists(attempts, :empty), :rec)"
	remove := " REMOVE lease_until, not_before"
	values := map[string]types.AttributeValue{
		":pending": str(string(execution.Pending)),
		":running": str(string(execution.Running)),
		":worker":  str(l.WorkerID),
		":attempt": num(int64(l.Attempt)),
		":rec":     recAV,
		":empty":   &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
	}
	if !notBefore.IsZero() {
		due = notBefore
		set += ", not_before = :due"
		remove = " REMOVE lease_until"
	}
	values[":due"] = num(ms(due))
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(l.ID),
		ConditionExpression:                 aws.String("#status = :running AND worker_id = :worker AND attempt = :attempt"),
		UpdateExpression:                    aws.String(withStatusKey(set+remove, l.ID, execution.Pending, values)),
		ExpressionAttributeNames:            map[string]string{"#status": "status"},
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
		":pending": str(string(execution.Pending)),
		":attempt": num(int64(e.Attempt)),
		":now":     num(ms(now)),
		":zero":    num(0),
		":one":     num(1),
	}
	cond := "#status = :pending AND attempt = :attempt AND attribute_not_exists(enqueued_at)"
	if e.EnqueuedAt != nil {
		cond = "#status = :pending AND attempt = :attempt AND enqueued_at = :seen"
		values[":seen"] = num(ms(*e.EnqueuedAt))
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(e.ID),
		ConditionExpression:                 aws.String(cond),
		UpdateExpression:                    aws.String("SET enqueued_at = :now, requeues = if_not_exists(requeues, :zero) + :one"),
		ExpressionAttributeNames:            map[string]string{"#status": "status"},
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return s.conflict(e.ID, "pending as read", err)
	}
	return nil
}
