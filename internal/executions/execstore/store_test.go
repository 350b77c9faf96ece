package execstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
	"github.com/scaleout/scaleout/scaleouttype"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func setup(t *testing.T) (*execstore.Store, execution.Execution) {
	t.Helper()
	env := testenv.AWS(t)
	s := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name)
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: testenv.Name("pkg"),
		Pool: "default", Status: execution.Pending, Definition: []byte(`{"name":"x","tasks":[]}`),
		Parameters: map[string]any{"date": "2026-11-25", "token": "s3cret"}, Sensitive: []string{"token"},
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	require.NoError(t, s.Create(context.Background(), e))
	return s, e
}

func TestCreateGet(t *testing.T) {
	t.Parallel()
	s, e := setup(t)
	ctx := context.Background()
	got, err := s.Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, e, got)

	require.ErrorIs(t, s.Create(ctx, e), execution.ErrExists)
	_, err = s.Get(ctx, uuid.NewString())
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
}

func TestFailOnlyPending(t *testing.T) {
	t.Parallel()
	s, e := setup(t)
	ctx := context.Background()
	require.NoError(t, s.Fail(ctx, e.ID, "could not enqueue", time.Now()))
	got, err := s.Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Failed, got.Status)
	require.Equal(t, "could not enqueue", got.Error)
	var c *execution.ConflictError
	require.ErrorAs(t, s.Fail(ctx, e.ID, "again", time.Now()), &c)
}

func TestStop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()

	s, pending := setup(t)
	got, err := s.Stop(ctx, pending.ID, now)
	require.NoError(t, err)
	require.Equal(t, execution.Canceled, got.Status)
	var c *execution.ConflictError
	_, err = s.Stop(ctx, pending.ID, now)
	require.ErrorAs(t, err, &c, "a final execution cannot be stopped")
	_, err = s.Claim(ctx, pending.ID, session(t), now)
	require.ErrorAs(t, err, &c, "a canceled execution is never claimed")

	s, running := setup(t)
	_, err = s.Claim(ctx, running.ID, session(t), now)
	require.NoError(t, err)
	got, err = s.Stop(ctx, running.ID, now)
	require.NoError(t, err)
	require.Equal(t, execution.Stopping, got.Status)
	got, err = s.Stop(ctx, running.ID, now)
	require.NoError(t, err, "stopping twice is fine")
	require.Equal(t, execution.Stopping, got.Status)

	_, err = s.Stop(ctx, uuid.NewString(), now)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
}

// session registers a worker of its own and returns its session.
func session(t *testing.T) registry.Session {
	t.Helper()
	env := testenv.AWS(t)
	_, sess, _, err := registry.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name).Register(context.Background(),
		registry.Registration{ID: testenv.Name("w"), Machine: "m", Pools: []string{"default"}, MaxTasks: 1}, time.Minute)
	require.NoError(t, err)
	return sess
}

func TestCreateIdempotent(t *testing.T) {
	t.Parallel()
	s, e := setup(t)
	ctx := context.Background()
	idem := execstore.Idempotency{Scope: "ops", Key: uuid.NewString(), Hash: "h1"}

	first := e
	first.ID = uuid.Must(uuid.NewV7()).String()
	got, replayed, err := s.CreateIdempotent(ctx, first, idem)
	require.NoError(t, err)
	require.False(t, replayed)
	require.Equal(t, first.ID, got.ID)

	second := e
	second.ID = uuid.Must(uuid.NewV7()).String()
	got, replayed, err = s.CreateIdempotent(ctx, second, idem)
	require.NoError(t, err)
	require.True(t, replayed)
	require.Equal(t, first.ID, got.ID, "the same key gives the first execution")
	_, err = s.Get(ctx, second.ID)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound, "and makes no second one")

	other := idem
	other.Hash = "h2"
	_, _, err = s.CreateIdempotent(ctx, second, other)
	require.ErrorIs(t, err, execstore.ErrIdempotencyMismatch)

	// Another caller's key of the same text is another key.
	theirs := idem
	theirs.Scope = "someone-else"
	got, replayed, err = s.CreateIdempotent(ctx, second, theirs)
	require.NoError(t, err)
	require.False(t, replayed)
	require.Equal(t, second.ID, got.ID)
}

func TestList(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	s := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name)
	ctx := context.Background()
	folder := testenv.Name("folder")
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	var ids []string
	for i := range 7 {
		pkg := "a"
		if i%2 == 1 {
			pkg = "b"
		}
		e := execution.Execution{
			ID: uuid.Must(uuid.NewV7()).String(), Folder: folder, Project: "p", Package: pkg, Pool: "default",
			Status: execution.Pending, Definition: []byte(`{}`), CreatedAt: base.Add(time.Duration(i) * time.Minute),
		}
		require.NoError(t, s.Create(ctx, e))
		ids = append(ids, e.ID)
	}
	_, err := s.Stop(ctx, ids[6], base)
	require.NoError(t, err)

	listIDs := func(f execstore.Filter) ([]string, string) {
		p, err := s.List(ctx, f, time.Now())
		require.NoError(t, err)
		var out []string
		for _, e := range p.Executions {
			require.Nil(t, e.Definition, "lists leave the definition out")
			out = append(out, e.ID)
		}
		return out, p.Next
	}
	rev := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, ids[i])
		}
		return out
	}

	got, _ := listIDs(execstore.Filter{Folder: folder})
	require.Equal(t, rev(6, 5, 4, 3, 2, 1, 0), got, "newest first")
	got, _ = listIDs(execstore.Filter{Folder: folder, Project: "p", Package: "a"})
	require.Equal(t, rev(6, 4, 2, 0), got)
	got, _ = listIDs(execstore.Filter{Folder: folder, Status: execution.Canceled})
	require.Equal(t, rev(6), got)
	got, _ = listIDs(execstore.Filter{Folder: folder, Since: base.Add(2 * time.Minute), Until: base.Add(4 * time.Minute)})
	require.Equal(t, rev(4, 3, 2), got)

	// Pages of 3 walk the whole list once.
	var all []string
	cursor := ""
	for range 5 {
		page, next := listIDs(execstore.Filter{Folder: folder, Limit: 3, Cursor: cursor})
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, rev(6, 5, 4, 3, 2, 1, 0), all)

	// Without folder, package or status: by day, here within the last day.
	got, _ = listIDs(execstore.Filter{Since: base.Add(-time.Minute), Project: "p", Limit: 1000})
	require.Subset(t, got, rev(0, 1, 2, 3, 4, 5, 6))

	_, err = s.List(ctx, execstore.Filter{Folder: folder, Cursor: "garbage!"}, time.Now())
	require.ErrorIs(t, err, execstore.ErrBadCursor)
}
