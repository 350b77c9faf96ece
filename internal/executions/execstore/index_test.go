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

// listAll pages through a listing with f.Limit and returns the ids.
func listAll(t *testing.T, s *execstore.Store, f execstore.Filter, now time.Time) []string {
	t.Helper()
	var out []string
	for range 200 {
		p, err := s.List(context.Background(), f, now)
		require.NoError(t, err)
		require.LessOrEqual(t, len(p.Executions), f.Limit)
		for _, e := range p.Executions {
			require.Nil(t, e.Definition, "lists leave the definition out")
			out = append(out, e.ID)
		}
		if p.Next == "" {
			return out
		}
		f.Cursor = p.Next
	}
	t.Fatal("the listing did not end")
	return nil
}

// Listings merge the shards of every index newest first and page through
// them with cursors, across days, with the filters the index cannot apply.
func TestListAcrossShards(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	s := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name)
	ctx := context.Background()
	folder, project := testenv.Name("folder"), testenv.Name("proj")
	// A pool no worker or reconciler serves: the tests that run beside
	// this one share the table, and a reconciler re-enqueues old pending
	// executions of its pools.
	pool := testenv.Name("idle")
	// 3 days ago, 11:00 UTC: 60 executions, one every 50 minutes, over 3 days.
	base := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3).Add(11 * time.Hour)
	type made struct {
		id      string
		project string
		status  execution.Status
	}
	var all []made // oldest first
	shards := map[int]bool{}
	for i := range 60 {
		e := execution.Execution{
			ID: uuid.Must(uuid.NewV7()).String(), Folder: folder, Project: project, Package: "a", Pool: pool,
			Status: execution.Pending, Definition: []byte(`{}`), CreatedAt: base.Add(time.Duration(i) * 50 * time.Minute),
		}
		if i%3 == 1 {
			e.Project, e.Package = project+"-other", "b"
		}
		require.NoError(t, s.Create(ctx, e))
		m := made{id: e.ID, project: e.Project, status: execution.Pending}
		switch i % 4 {
		case 1:
			_, err := s.Stop(ctx, e.ID, time.Now())
			require.NoError(t, err)
			m.status = execution.Canceled
		case 2:
			_, err := s.Claim(ctx, e.ID, session(t), time.Now())
			require.NoError(t, err)
			m.status = execution.Running
		}
		all = append(all, m)
		shards[resources.Shard(e.ID, resources.ListShards)] = true
	}
	require.Greater(t, len(shards), resources.ListShards/2, "the executions spread over the shards")
	newest := func(keep func(made) bool) []string {
		var out []string
		for _, m := range slices.Backward(all) {
			if keep(m) {
				out = append(out, m.id)
			}
		}
		return out
	}
	every := func(made) bool { return true }
	now := time.Now()
	last := base.Add(60 * 50 * time.Minute)
	for _, tc := range []struct {
		name string
		f    execstore.Filter
		want []string
	}{
		{"folder", execstore.Filter{Folder: folder, Limit: 7}, newest(every)},
		{"folder, one page", execstore.Filter{Folder: folder, Limit: 1000}, newest(every)},
		{"folder and project", execstore.Filter{Folder: folder, Project: project, Limit: 4}, newest(func(m made) bool { return m.project == project })},
		{"folder and status", execstore.Filter{Folder: folder, Status: execution.Canceled, Limit: 3}, newest(func(m made) bool { return m.status == execution.Canceled })},
		{"package", execstore.Filter{Folder: folder, Project: project + "-other", Package: "b", Limit: 6}, newest(func(m made) bool { return m.project != project })},
		{"package and status", execstore.Filter{Folder: folder, Project: project, Package: "a", Status: execution.Running, Limit: 2},
			newest(func(m made) bool { return m.project == project && m.status == execution.Running })},
		{"days, by project", execstore.Filter{Project: project, Since: base, Until: last, Limit: 5}, newest(func(m made) bool { return m.project == project })},
		{"days, final status", execstore.Filter{Project: project, Status: execution.Canceled, Since: base, Until: last, Limit: 1},
			newest(func(m made) bool { return m.project == project && m.status == execution.Canceled })},
		{"by status shards", execstore.Filter{Project: project + "-other", Status: execution.Running, Limit: 2},
			newest(func(m made) bool { return m.project != project && m.status == execution.Running })},
		{"since and until", execstore.Filter{Folder: folder, Since: base.Add(100 * time.Minute), Until: base.Add(24 * 50 * time.Minute), Limit: 5},
			newest(func(m made) bool { i := slices.Index(all, m); return i >= 2 && i <= 24 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NotEmpty(t, tc.want)
			require.Equal(t, tc.want, listAll(t, s, tc.f, now))
		})
	}

	_, err := s.List(ctx, execstore.Filter{Folder: folder, Cursor: "garbage!"}, now)
	require.ErrorIs(t, err, execstore.ErrBadCursor)
	p, err := s.List(ctx, execstore.Filter{Folder: folder, Limit: 2}, now)
	require.NoError(t, err)
	require.NotEmpty(t, p.Next)
	_, err = s.List(ctx, execstore.Filter{Folder: folder, Project: project, Cursor: p.Next}, now)
	require.ErrorIs(t, err, execstore.ErrBadCursor, "a cursor of another filter")
	p, err = s.List(ctx, execstore.Filter{Folder: folder, Since: now, Until: base}, now)
	require.NoError(t, err)
	require.Empty(t, p.Executions)
}

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
