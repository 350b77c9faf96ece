package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/packages/pkgrun"
	"github.com/scaleout/scaleout/internal/worker"
)

// resultRunner returns a fixed result at once.
type resultRunner struct{ res execution.Result }

func (r resultRunner) Run(context.Context, execution.Execution) execution.Result { return r.res }

// bigResult is a result as large as an execution keeps: a long error and
// task summaries up to their caps.
func bigResult(status execution.Status) execution.Result {
	res := execution.Result{Status: status, Error: strings.Repeat("E", 100_000)}
	for i := range 300 {
		res.Tasks = append(res.Tasks, execution.TaskSummary{Path: fmt.Sprintf("t%d", i), Status: string(status),
			Error: strings.Repeat("e", 2000)})
	}
	return res
}

// submitNearlyFull submits an execution whose item leaves less room than
// a result at its caps takes (as if it had gathered a long history), with
// retries retries.
func (b bundle) submitNearlyFull(t *testing.T, retries int) execution.Execution {
	t.Helper()
	ctx := context.Background()
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "worker-test", Pool: "other",
		Status: execution.Pending, Definition: pkgrun.CommandDefinition("worker-test", []string{"true", strings.Repeat("d", 250_000)}),
		Retries: retries, LostRetries: execution.DefaultLostRetries, CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	require.NoError(t, b.store.Create(ctx, e))
	// A filler attribute as long as DynamoDB takes, less room bytes: the
	// claim adds about 100, an attempt record with its reason cut to 1 KiB
	// more than what is left, a result that could not be recorded less.
	const room = 950
	fill := func(n int) error {
		_, err := b.env.Clients.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(b.env.Set.Executions.Name),
			Key:                       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: e.ID}},
			UpdateExpression:          aws.String("SET filler = :f"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":f": &types.AttributeValueMemberS{Value: strings.Repeat("f", n)}},
		})
		return err
	}
	lo, hi := 0, execution.MaxItemBytes // fits, does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fill(mid) == nil {
			lo = mid
		} else {
			hi = mid
		}
	}
	require.NoError(t, fill(lo-room))
	require.NoError(t, b.queue.Send(ctx, taskqueue.Task{ExecutionID: e.ID, Pool: "other"}))
	return e
}

// A result DynamoDB refuses as too large does not leave the execution
// running until its lease runs out on a live worker: it ends failed at
// once, saying what the package did and why its result is not there.
func TestResultTooLargeToRecordEndsFailed(t *testing.T) {
	b := setup(t)
	b.start(t, resultRunner{bigResult(execution.Succeeded)}, worker.Config{ID: "w-big"})
	e := b.submitNearlyFull(t, 0)

	got := b.waitStatus(t, e.ID, execution.Failed)
	require.Equal(t, 1, got.Attempt, "ended by the attempt that ran it, not by a takeover")
	require.Empty(t, got.Attempts)
	require.Equal(t, "w-big", got.WorkerID)
	require.Contains(t, got.Error, "the package ended succeeded, but its result could not be recorded")
	require.Contains(t, got.Error, "too large")
	require.LessOrEqual(t, len(got.Error), execution.MaxReasonBytes)
	require.Empty(t, got.Tasks)
	b.queueEmpty(t)
}

// A failed attempt that cannot be recorded for a retry ends the execution
// failed, saying so, rather than leaving it to the reconciler.
func TestAttemptTooLargeToRecordEndsFailed(t *testing.T) {
	b := setup(t)
	res := execution.Result{Status: execution.Failed, Error: strings.Repeat("R", 100_000)}
	b.start(t, resultRunner{res}, worker.Config{ID: "w-retry", RetryBackoff: time.Millisecond})
	e := b.submitNearlyFull(t, 3)

	got := b.waitStatus(t, e.ID, execution.Failed)
	require.Equal(t, 1, got.Attempt)
	require.Empty(t, got.Attempts)
	require.Contains(t, got.Error, "attempt 1 ended (RRRR")
	require.Contains(t, got.Error, "bytes cut")
	require.Contains(t, got.Error, "could not be handed back for another attempt")
	require.LessOrEqual(t, len(got.Error), execution.MaxReasonBytes)
	b.queueEmpty(t)
}
