package execstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/execstore"
	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/testenv"
	"github.com/scaleout/scaleout/scaleouttype"
)

func bigExecution(definition int) execution.Execution {
	return execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "big", Pool: "default",
		Status: execution.Pending, Definition: []byte(`"` + strings.Repeat("d", definition) + `"`),
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
}

// An execution over MaxSubmittedBytes is refused before it is written,
// saying what takes the room; one at the limit is stored and records a
// result at its caps to the end.
func TestSizeLimits(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	s := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name)
	ctx := context.Background()

	tooBig := bigExecution(execution.MaxDefinitionBytes)
	tooBig.Parameters = map[string]any{"blob": strings.Repeat("p", execution.MaxParametersBytes-20)}
	err := s.Create(ctx, tooBig)
	require.ErrorIs(t, err, execution.ErrTooLarge)
	require.ErrorContains(t, err, fmt.Sprintf("at most %d", execution.MaxSubmittedBytes))
	require.ErrorContains(t, err, fmt.Sprintf("definition %d", len(tooBig.Definition)))
	_, err = s.Get(ctx, tooBig.ID)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound, "nothing was written")

	// Its attempts' reasons and its result are cut to their caps (that
	// they fit beside the largest submission is TestBudget's).
	e := bigExecution(100_000)
	e.Retries, e.LostRetries = execution.MaxRetries, execution.MaxRetries
	require.NoError(t, s.Create(ctx, e))
	for range execution.MaxRetries {
		claimed, err := s.Claim(ctx, e.ID, session(t), time.Now())
		require.NoError(t, err)
		_, err = s.Retry(ctx, execution.LeaseOf(claimed), execution.AttemptRecord{
			StartedAt: *claimed.StartedAt, EndedAt: time.Now(), Reason: strings.Repeat("r", 50_000)}, time.Time{})
		require.NoError(t, err)
	}
	claimed, err := s.Claim(ctx, e.ID, session(t), time.Now())
	require.NoError(t, err)
	require.Len(t, claimed.Attempts, execution.MaxRetries)
	for _, a := range claimed.Attempts {
		require.LessOrEqual(t, len(a.Reason), execution.MaxReasonBytes)
		require.Contains(t, a.Reason, "bytes cut")
	}

	res := execution.Result{Status: execution.Failed, Error: strings.Repeat("E", 300_000)}
	for i := range 500 {
		res.Tasks = append(res.Tasks, execution.TaskSummary{Path: fmt.Sprintf("t%d", i), Status: "failed", Error: strings.Repeat("e", 5000)})
	}
	done, err := s.Finish(ctx, execution.LeaseOf(claimed), res, time.Now())
	require.NoError(t, err)
	require.Equal(t, execution.Failed, done.Status)
	require.LessOrEqual(t, len(done.Error), execution.MaxErrorBytes)
	require.Contains(t, done.Error, "bytes cut")
	require.NotEmpty(t, done.Tasks)
	require.Equal(t, 500, len(done.Tasks)+done.TasksOmitted)
	got, err := s.Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, done.TasksOmitted, got.TasksOmitted)
	require.Equal(t, done.Tasks, got.Tasks)
}

// A Finish sent again after it applied (its response was lost, and the SDK
// retried) reports what it recorded; another write is still a lost lease.
func TestFinishSentTwice(t *testing.T) {
	t.Parallel()
	s, e := setup(t)
	ctx := context.Background()
	claimed, err := s.Claim(ctx, e.ID, session(t), time.Now())
	require.NoError(t, err)
	now := time.Now()
	res := execution.Result{Status: execution.Succeeded}
	first, err := s.Finish(ctx, execution.LeaseOf(claimed), res, now)
	require.NoError(t, err)
	again, err := s.Finish(ctx, execution.LeaseOf(claimed), res, now)
	require.NoError(t, err)
	require.Equal(t, first, again)

	_, err = s.Finish(ctx, execution.LeaseOf(claimed), res, now.Add(time.Second))
	require.ErrorIs(t, err, execution.ErrLeaseLost, "a later write")
	_, err = s.Finish(ctx, execution.LeaseOf(claimed), execution.Result{Status: execution.Failed}, now)
	require.ErrorIs(t, err, execution.ErrLeaseLost, "another result")
}
