package execstore_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

// by_status holds only executions that are not final, in shards that
// ByStatus merges oldest first.
func TestByStatusShardsAndSparse(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	s := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name)
	ctx := context.Background()
	pool := testenv.Name("idle") // see TestListAcrossShards
	// Weeks ago (other tests' executions are newer; within the 90 days
	// of retention, or DynamoDB Local's TTL deletes them), at a random
	// minute of that day, away from other runs of this test.
	base := time.Now().UTC().AddDate(0, 0, -60).Add(-time.Duration(rand.IntN(24*60)) * time.Minute)
	var ids []string
	for i := range 40 {
		e := execution.Execution{
			ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: testenv.Name("pkg"), Pool: pool,
			Status: execution.Pending, Definition: []byte(`{}`), CreatedAt: base.Add(time.Duration(i) * time.Second),
		}
		require.NoError(t, s.Create(ctx, e))
		ids = append(ids, e.ID)
	}
	idsOf := func(list []execution.Execution) []string {
		var out []string
		for _, e := range list {
			out = append(out, e.ID)
		}
		return out
	}
	// Only this run's executions: earlier runs leave theirs in the table.
	ours := func(list []execution.Execution) []string {
		var out []string
		for _, e := range list {
			if e.Pool == pool {
				out = append(out, e.ID)
			}
		}
		return out
	}
	before := base.Add(time.Minute)
	list, err := s.ByStatus(ctx, execution.Pending, before, 1000)
	require.NoError(t, err)
	require.True(t, slices.IsSortedFunc(list, func(a, b execution.Execution) int { return a.CreatedAt.Compare(b.CreatedAt) }), "oldest first")
	got := idsOf(list)
	require.Equal(t, ids, ours(list), "every shard is read (and the pool is projected)")
	first, err := s.ByStatus(ctx, execution.Pending, before, 5)
	require.NoError(t, err)
	require.Equal(t, got[:5], idsOf(first), "a limit keeps the oldest")

	// Eleven running: ten held by a session whose lease ran out an hour
	// ago, one by a live one.
	now := time.Now()
	reg := registry.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name)
	reg.Now = func() time.Time { return now.Add(-2 * time.Hour) }
	_, dead, _, err := reg.Register(ctx, registry.Registration{ID: testenv.Name("dead"), Machine: "m", Pools: []string{pool}, MaxTasks: 10}, time.Hour)
	require.NoError(t, err)
	for _, id := range ids[:10] {
		_, err := s.Claim(ctx, id, dead, now.Add(-time.Hour-time.Minute))
		require.NoError(t, err)
	}
	held, err := s.Claim(ctx, ids[10], session(t), now)
	require.NoError(t, err)
	running, err := s.ByStatus(ctx, execution.Running, before, 1000)
	require.NoError(t, err)
	require.Equal(t, ids[:11], ours(running))
	i := slices.IndexFunc(running, func(e execution.Execution) bool { return e.ID == ids[0] })
	require.Equal(t, 1, running[i].Attempt)
	require.Equal(t, dead.WorkerID, running[i].WorkerID)
	require.Equal(t, dead.ID, running[i].Session, "the session is projected")

	// Recovering one with no lost retries left ends it: it leaves the index.
	ended, err := s.Recover(ctx, running[i], now, now)
	require.NoError(t, err)
	require.Equal(t, execution.EndedUnexpectedly, ended.Status)
	_, err = s.Finish(ctx, execution.LeaseOf(held), execution.Result{Status: execution.Succeeded}, now)
	require.NoError(t, err)
	for _, id := range []string{ids[0], ids[10]} {
		out, err := env.Clients.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(env.Set.Executions.Name), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
			ConsistentRead: aws.Bool(true),
		})
		require.NoError(t, err)
		require.NotContains(t, out.Item, resources.StatusKey, "a final execution has no by_status key")
	}
	for _, st := range []execution.Status{execution.Pending, execution.Running} {
		list, err := s.ByStatus(ctx, st, before, 1000)
		require.NoError(t, err)
		require.NotContains(t, idsOf(list), ids[0])
		require.NotContains(t, idsOf(list), ids[10])
	}
	list, err = s.ByStatus(ctx, execution.Succeeded, before, 1000)
	require.NoError(t, err)
	require.Empty(t, list, "final statuses are not in by_status")
}
