package execstore_test

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

	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// An execution whose item DynamoDB can no longer grow (it gathered a long
// history) refuses a result or an attempt record that would take more than
// is left with execution.ErrTooLarge, leaving the attempt as it was; a
// result that says the package's own could not be recorded still fits.
// The worker's tests hold it to what it does then (package worker,
// oversize_test.go).
func TestWritesOverTheItemLimitAreTooLarge(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	s := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name)
	ctx := context.Background()
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: testenv.Name("pkg"), Pool: "default",
		Status: execution.Pending, Definition: []byte(`"` + strings.Repeat("d", 250_000) + `"`),
		Retries: 3, LostRetries: execution.DefaultLostRetries, CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	require.NoError(t, s.Create(ctx, e))
	claimed, err := s.Claim(ctx, e.ID, session(t), time.Now())
	require.NoError(t, err)
	lease := execution.LeaseOf(claimed)

	// A filler attribute as long as DynamoDB takes, less room bytes: an
	// attempt record with its reason cut to 1 KiB takes more than what is
	// left, a result that says it could not be recorded less.
	const room = 950
	fill := func(n int) error {
		_, err := env.Clients.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(env.Set.Executions.Name),
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

	big := execution.Result{Status: execution.Succeeded, Error: strings.Repeat("E", 100_000)}
	for i := range 300 {
		big.Tasks = append(big.Tasks, execution.TaskSummary{Path: fmt.Sprintf("t%d", i), Status: "succeeded",
			Error: strings.Repeat("e", 2000)})
	}
	_, refused := s.Finish(ctx, lease, big, time.Now())
	require.ErrorIs(t, refused, execution.ErrTooLarge)
	_, err = s.Retry(ctx, lease, execution.AttemptRecord{StartedAt: *claimed.StartedAt, EndedAt: time.Now(),
		Reason: strings.Repeat("R", 100_000)}, time.Now())
	require.ErrorIs(t, err, execution.ErrTooLarge)
	got, err := s.Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Running, got.Status, "nothing was written")
	require.Equal(t, lease, execution.LeaseOf(got))
	require.Empty(t, got.Attempts)

	small := execution.Result{Status: execution.Failed, Error: execution.Clip(
		"the package ended succeeded, but its result could not be recorded ("+refused.Error()+"); "+strings.Repeat("E", 256),
		execution.MaxReasonBytes)}
	require.Less(t, len(small.Error), room)
	done, err := s.Finish(ctx, lease, small, time.Now())
	require.NoError(t, err)
	require.Equal(t, execution.Failed, done.Status)
	require.Equal(t, small.Error, done.Error)
}
