package execstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker/registry"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Stop asks an execution to stop: a pending one is canceled at once (its
// message is dropped by the worker that receives it), a running one moves
// to stopping and, in the same transaction, its id joins the stop requests
// of the worker session that runs it, which the worker reads every few
// seconds (worker.StopCheck) and cancels the run. Stopping an execution
// that is stopping already changes nothing. A final execution gives a
// *execution.ConflictError.
func (s *Store) Stop(ctx context.Context, id string, now time.Time) (execution.Execution, error) {
	return s.stop(ctx, id, now, 3)
}

// stop is Stop that starts over at most tries more times when the
// execution changes under it (or the transaction meets another one).
func (s *Store) stop(ctx context.Context, id string, now time.Time, tries int) (execution.Execution, error) {
	values := map[string]types.AttributeValue{
		":now": num(ms(now)),
		":why": str("stopped before it started"),
	}
	names := map[string]string{"#error": "error"}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(id),
		ConditionExpression:                 aws.String(statusCondition(execution.OpStop, execution.Canceled, names, values)),
		UpdateExpression:                    aws.String(withStatusKey("SET "+setStatus(execution.Canceled, values)+", ended_at = :now, #error = :why", id, execution.Canceled, values)),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return Decode(out.Attributes)
	}
	var ce *execution.ConflictError
	if err = s.conflict(id, "pending", err); !errors.As(err, &ce) || ce.Current == nil {
		return execution.Execution{}, err
	}
	cur := *ce.Current
	switch cur.Status {
	case execution.Stopping:
		return cur, nil
	case execution.Running:
	default:
		return execution.Execution{}, &execution.ConflictError{ID: id, Want: "pending or running to stop it", Current: &cur}
	}
	names, values = map[string]string{}, map[string]types.AttributeValue{":now": num(ms(now))}
	cond := leaseCondition(execution.OpStop, execution.Stopping, execution.LeaseOf(cur), names, values)
	stop := &types.Update{
		TableName: aws.String(s.table), Key: key(id),
		ConditionExpression: aws.String(cond), UpdateExpression: aws.String(withStatusKey("SET "+setStatus(execution.Stopping, values)+", stop_requested_at = :now", id, execution.Stopping, values)),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: stop},
		{Update: registry.RequestStop(s.catalog, cur.WorkerID, cur.Session, id)},
	}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) == 2 && aws.ToString(tce.CancellationReasons[0].Code) == "None" &&
		aws.ToString(tce.CancellationReasons[1].Code) == "ConditionalCheckFailed" {
		// The execution is as read, but its session is gone (its worker
		// was lost or removed): no worker to tell. Stopping is recorded
		// all the same; the lost attempt ends it canceled.
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: stop.TableName, Key: stop.Key, ConditionExpression: stop.ConditionExpression,
			UpdateExpression: stop.UpdateExpression, ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		})
	}
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &tce) || errors.As(err, &ccf) {
			// It ended, was stopped or moved to another attempt between
			// the reads and the write: say how it stands now.
			got, gerr := s.Get(ctx, id)
			if gerr != nil {
				return execution.Execution{}, gerr
			}
			if got.Status == execution.Stopping {
				return got, nil
			}
			if (got.Status == execution.Running || got.Status == execution.Pending) && tries > 0 {
				// Another attempt, handed back, or the transaction met
				// another one (a renewal of the same session): again.
				return s.stop(ctx, id, now, tries-1)
			}
			return execution.Execution{}, &execution.ConflictError{ID: id, Want: "running to stop it", Current: &got}
		}
		return execution.Execution{}, fmt.Errorf("stop execution %s: %w", id, err)
	}
	return s.Get(ctx, id)
}

// Idempotency records which execution a caller's Idempotency-Key made.
type Idempotency = scaleouttype.Idempotency

// ErrIdempotencyMismatch is returned when a key is reused with another body.
var ErrIdempotencyMismatch = scaleouttype.ErrIdempotencyMismatch

// CreateIdempotent stores e and the idempotency record in one transaction.
// When the key was used before with the same body, it returns the
// execution made then and replayed = true; with another body,
// ErrIdempotencyMismatch.
func (s *Store) CreateIdempotent(ctx context.Context, e execution.Execution, idem Idempotency) (_ execution.Execution, replayed bool, err error) {
	if idem.TTL <= 0 {
		idem.TTL = 24 * time.Hour
	}
	e, err = execution.SealParameters(ctx, e, s.Sealer)
	if err != nil {
		return e, false, err
	}
	put, err := s.put(e)
	if err != nil {
		return e, false, err
	}
	if err := s.markDay(ctx, e.CreatedAt, e.ID); err != nil {
		return e, false, fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	idemKey := map[string]types.AttributeValue{
		resources.CatalogPK: str(resources.CatalogIdempotencyPrefix + idem.Scope + "#" + idem.Key),
		resources.CatalogSK: str(resources.CatalogIdempotencySK),
	}
	record := map[string]types.AttributeValue{
		"execution_id":         str(e.ID),
		"request_hash":         str(idem.Hash),
		resources.TTLAttribute: num(e.CreatedAt.Add(idem.TTL).Unix()),
	}
	for k, v := range idemKey {
		record[k] = v
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{
				TableName:                aws.String(s.catalog),
				Item:                     record,
				ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
				ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK},
			}},
			{Put: put},
		},
	})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		if err != nil {
			return e, false, fmt.Errorf("create execution %s: %w", e.ID, err)
		}
		return e, false, nil
	}
	// The key was used before: replay what it made.
	got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.catalog), Key: idemKey, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return e, false, fmt.Errorf("read idempotency key: %w", err)
	}
	if got.Item == nil {
		return e, false, fmt.Errorf("create execution %s: transaction canceled (%s); retry", e.ID, reasons(tce))
	}
	if h, _ := got.Item["request_hash"].(*types.AttributeValueMemberS); h == nil || h.Value != idem.Hash {
		return e, false, ErrIdempotencyMismatch
	}
	prevID, _ := got.Item["execution_id"].(*types.AttributeValueMemberS)
	if prevID == nil {
		return e, false, fmt.Errorf("idempotency record without an execution id")
	}
	prev, err := s.Get(ctx, prevID.Value)
	return prev, true, err
}

func reasons(tce *types.TransactionCanceledException) string {
	out := ""
	for i, r := range tce.CancellationReasons {
		if out != "" {
			out += ", "
		}
		out += strconv.Itoa(i) + ": " + aws.ToString(r.Code)
	}
	return out
}
