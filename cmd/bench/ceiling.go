package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"

	"github.com/scaleout/scaleout/pkg/resources"
)

// ceilingTemplate is what one real no-op execution wrote: its item as the
// API created it (pending), its final task summaries and its messages.
type ceilingTemplate struct {
	pending  map[string]ddbtypes.AttributeValue
	tasks    ddbtypes.AttributeValue
	messages []map[string]ddbtypes.AttributeValue
}

// template copies a finished execution of this run (id), so that the
// replay writes items of exactly the same size.
func (s *system) template(ctx context.Context, id string) (ceilingTemplate, error) {
	var t ceilingTemplate
	got, err := s.obs.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.set.Executions.Name), Key: map[string]ddbtypes.AttributeValue{resources.ExecutionKey: str(id)},
	})
	if err != nil {
		return t, err
	}
	if got.Item == nil {
		return t, fmt.Errorf("execution %s not found", id)
	}
	t.pending = got.Item
	t.tasks = got.Item["tasks"]
	for _, k := range []string{"started_at", "ended_at", "worker_id", "lease_until", "tasks", "error"} {
		delete(t.pending, k)
	}
	t.pending["status"] = str("pending")
	t.pending["attempt"] = num(0)
	msgs, err := s.obs.DynamoDB.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.set.Catalog.Name),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": resources.CatalogPK},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": str(resources.CatalogMessagesPrefix + id)},
	})
	if err != nil {
		return t, err
	}
	t.messages = msgs.Items
	if t.tasks == nil || len(t.messages) == 0 || len(t.messages) > 25 {
		return t, fmt.Errorf("execution %s: %d messages, tasks %v: not a no-op execution's shape", id, len(t.messages), t.tasks)
	}
	return t, nil
}

// ceiling replays, with bare SDK calls, exactly the calls one execution
// makes, with the system's concurrency: `submitters` producers (PutItem of
// the execution item, SendMessage) and workers x concurrency consumers
// (ReceiveMessage of 1 with a long poll, the conditional claim UpdateItem,
// one BatchWriteItem of the execution's messages, the conditional finish
// UpdateItem, DeleteMessage), on the same tables and a queue made like the
// pool's. It returns executions per second from the first PutItem to the
// last DeleteMessage.
func (s *system) ceiling(ctx context.Context, t ceilingTemplate, when string) (float64, error) {
	q := s.ceil.SQS
	url := aws.String(s.queues[ceilingPool])
	s.ceilMet.Take()

	var next, done atomic.Int64
	var lastEnd atomic.Int64
	var failed error
	var failOnce sync.Once
	fail := func(err error) { failOnce.Do(func() { failed = err }) }
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for range submitters {
		wg.Go(func() {
			for i := next.Add(1); i <= ceilingN && ctx.Err() == nil; i = next.Add(1) {
				if err := s.replayPut(ctx, t, uuid.NewString()); err != nil {
					fail(err)
					cancel()
					return
				}
			}
		})
	}
	for w := range workerCount * workerConcurrency {
		wg.Go(func() {
			worker := fmt.Sprintf("ceiling-%d", w)
			for done.Load() < ceilingN && ctx.Err() == nil {
				out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
					QueueUrl: url, MaxNumberOfMessages: 1, WaitTimeSeconds: 1,
					MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
				})
				if err != nil {
					if ctx.Err() == nil {
						fail(err)
						cancel()
					}
					return
				}
				for _, m := range out.Messages {
					if err := s.replayRun(ctx, t, m, worker); err != nil {
						fail(err)
						cancel()
						return
					}
					lastEnd.Store(max(lastEnd.Load(), time.Since(start).Nanoseconds()))
					if done.Add(1) == ceilingN {
						cancel() // the other consumers stop polling
					}
				}
			}
		})
	}
	wg.Wait()
	if failed != nil && !errors.Is(failed, context.Canceled) {
		return 0, failed
	}
	if n := done.Load(); n < ceilingN {
		return 0, fmt.Errorf("replay: %d of %d done", n, ceilingN)
	}
	span := time.Duration(lastEnd.Load())
	rate := float64(ceilingN) / span.Seconds()
	stderrf("# ceiling (%s): %d executions replayed with bare SDK calls in %s = %.1f executions/s; calls:\n",
		when, ceilingN, span.Round(time.Millisecond), rate)
	printCalls(os.Stderr, s.ceilMet.Take(), ceilingN)
	return rate, nil
}

// replayRun is one execution's worker side: claim, messages, finish, delete.
func (s *system) replayRun(ctx context.Context, t ceilingTemplate, m sqstypes.Message, worker string) error {
	db := s.ceil.DynamoDB
	table := aws.String(s.set.Executions.Name)
	var task struct {
		ID string `json:"execution_id"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &task); err != nil {
		return err
	}
	key := map[string]ddbtypes.AttributeValue{resources.ExecutionKey: str(task.ID)}
	if err := s.replayClaim(ctx, task.ID, worker); err != nil {
		return err
	}
	reqs := make([]ddbtypes.WriteRequest, 0, len(t.messages))
	for _, msg := range t.messages {
		item := maps.Clone(msg)
		item[resources.CatalogPK] = str(resources.CatalogMessagesPrefix + task.ID)
		item["execution_id"] = str(task.ID)
		reqs = append(reqs, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: item}})
	}
	for len(reqs) > 0 {
		out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]ddbtypes.WriteRequest{s.set.Catalog.Name: reqs},
		})
		if err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		reqs = out.UnprocessedItems[s.set.Catalog.Name]
	}
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: table, Key: key,
		ConditionExpression:      aws.String("#status IN (:running, :stopping) AND worker_id = :worker AND attempt = :attempt"),
		UpdateExpression:         aws.String("SET #status = :final, ended_at = :now, #error = :err, tasks = :tasks REMOVE lease_until"),
		ExpressionAttributeNames: map[string]string{"#status": "status", "#error": "error"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":running": str("running"), ":stopping": str("stopping"), ":worker": str(worker), ":attempt": num(1),
			":final": str("succeeded"), ":now": num(time.Now().UnixMilli()), ":err": str(""), ":tasks": t.tasks,
		},
		ReturnValues:                        ddbtypes.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	}); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	if _, err := s.ceil.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.queues[ceilingPool]), ReceiptHandle: m.ReceiptHandle}); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// replayPut is the API's side of one execution: PutItem of the execution
// item (conditional, as the API writes it), SendMessage.
func (s *system) replayPut(ctx context.Context, t ceilingTemplate, id string) error {
	now := time.Now().UTC().Truncate(time.Millisecond)
	item := maps.Clone(t.pending)
	item[resources.ExecutionKey] = str(id)
	item["created_at"] = num(now.UnixMilli())
	item[resources.CreatedKey] = str(fmt.Sprintf("%013d#%s", now.UnixMilli(), id))
	if _, err := s.ceil.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.set.Executions.Name), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{"#id": resources.ExecutionKey},
	}); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	body, _ := json.Marshal(map[string]string{"execution_id": id, "pool": ceilingPool})
	if _, err := s.ceil.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.queues[ceilingPool]), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// replayClaim is a worker's conditional claim of a pending execution.
func (s *system) replayClaim(ctx context.Context, id, worker string) error {
	now := time.Now()
	if _, err := s.ceil.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.set.Executions.Name), Key: map[string]ddbtypes.AttributeValue{resources.ExecutionKey: str(id)},
		ConditionExpression: aws.String("#status = :pending"),
		UpdateExpression: aws.String("SET #status = :running, worker_id = :worker, lease_until = :lease, " +
			"started_at = :now, attempt = attempt + :one"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pending": str("pending"), ":running": str("running"), ":worker": str(worker),
			":lease": num(now.Add(time.Minute).UnixMilli()), ":now": num(now.UnixMilli()), ":one": num(1),
		},
		ReturnValues:                        ddbtypes.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	}); err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	return nil
}

// floor times the bare-SDK dispatch path, PutItem -> SendMessage ->
// long-poll ReceiveMessage -> conditional claim UpdateItem, at the load
// the dispatch phase offers (dispatchRate a second, open loop), with the
// system's consumers waiting in long polls on a queue made like the
// pool's. It prints dispatch.floor_p50.
func (s *system) floor(ctx context.Context, t ceilingTemplate) error {
	n := int(floorFor.Seconds() * dispatchRate)
	every := time.Second / dispatchRate
	url := aws.String(s.queues[ceilingPool])
	var (
		mu      sync.Mutex
		sent    = map[string]time.Time{}
		took    []time.Duration
		failed  error
		wg, cwg sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		failed = errors.Join(failed, err)
		mu.Unlock()
	}
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	var done atomic.Int64
	for w := range workerCount * workerConcurrency {
		cwg.Go(func() {
			worker := fmt.Sprintf("floor-%d", w)
			for cctx.Err() == nil {
				out, err := s.ceil.SQS.ReceiveMessage(cctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 1, WaitTimeSeconds: 1})
				if err != nil {
					if cctx.Err() == nil {
						fail(err)
					}
					return
				}
				for _, m := range out.Messages {
					var task struct {
						ID string `json:"execution_id"`
					}
					_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &task)
					if err := s.replayClaim(cctx, task.ID, worker); err != nil {
						fail(err)
						return
					}
					mu.Lock()
					took = append(took, time.Since(sent[task.ID]))
					mu.Unlock()
					done.Add(1)
					if _, err := s.ceil.SQS.DeleteMessage(cctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
						fail(err)
						return
					}
				}
			}
		})
	}
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		wg.Go(func() {
			id := uuid.NewString()
			mu.Lock()
			sent[id] = time.Now()
			mu.Unlock()
			if err := s.replayPut(ctx, t, id); err != nil {
				fail(err)
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for done.Load() < int64(n) && failed == nil && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	cwg.Wait()
	s.ceilMet.Take()
	if failed != nil {
		return failed
	}
	if len(took) < n {
		return fmt.Errorf("%d of %d claimed after 30 s", len(took), n)
	}
	slices.Sort(took)
	stderrf("# dispatch floor: %d executions at %d/s with bare SDK calls (PutItem -> SendMessage -> long-poll ReceiveMessage -> "+
		"conditional claim UpdateItem, %d consumers waiting): p50 %.2f ms p95 %.2f ms p99 %.2f ms\n",
		n, dispatchRate, workerCount*workerConcurrency, msOf(pct(took, 50)), msOf(pct(took, 95)), msOf(pct(took, 99)))
	fmt.Printf("bench: dispatch.floor_p50 %.1f ms\n", msOf(pct(took, 50)))
	return nil
}
