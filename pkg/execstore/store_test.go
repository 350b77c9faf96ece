package execstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/execstore"
	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func setup(t *testing.T) (*execstore.Store, execution.Execution) {
	t.Helper()
	env := testenv.AWS(t)
	s := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name)
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
	require.ErrorIs(t, err, execution.ErrNotFound)
}

func TestClaimIsExclusive(t *testing.T) {
	t.Parallel()
	s, e := setup(t)
	ctx := context.Background()
	now := time.Now()
	got, err := s.Claim(ctx, e.ID, "w1", now, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, execution.Running, got.Status)
	require.Equal(t, 1, got.Attempt)
	require.Equal(t, "w1", got.WorkerID)
	require.NotNil(t, got.StartedAt)

	_, err = s.Claim(ctx, e.ID, "w2", now, now.Add(time.Minute))
	var c *execution.ConflictError
	require.ErrorAs(t, err, &c)
	require.Equal(t, execution.Running, c.Current.Status)
	require.Equal(t, "w1", c.Current.WorkerID)

	_, err = s.Claim(ctx, uuid.NewString(), "w1", now, now.Add(time.Minute))
	require.ErrorIs(t, err, execution.ErrNotFound)
}

// Many workers race for one execution: exactly one wins.
func TestClaimRace(t *testing.T) {
	t.Parallel()
	s, e := setup(t)
	now := time.Now()
	wins := make(chan string, 8)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			w := "w" + string(rune('a'+i))
			_, err := s.Claim(context.Background(), e.ID, w, now, now.Add(time.Minute))
			if err == nil {
				wins <- w
			}
			errs <- err
		}()
	}
	conflicts := 0
	for range 8 {
		err := <-errs
		var c *execution.ConflictError
		if errors.As(err, &c) {
			conflicts++
		} else {
			require.NoError(t, err)
		}
	}
	require.Equal(t, 7, conflicts)
	require.Len(t, wins, 1)
}

func TestFinishNeedsTheLease(t *testing.T) {
	t.Parallel()
	s, e := setup(t)
	ctx := context.Background()
	now := time.Now()
	got, err := s.Claim(ctx, e.ID, "w1", now, now.Add(time.Minute))
	require.NoError(t, err)
	lease := execution.LeaseOf(got)

	st, err := s.Heartbeat(ctx, lease, now.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, execution.Running, st)
	stale := lease
	stale.Attempt = 0
	_, err = s.Heartbeat(ctx, stale, now)
	require.ErrorIs(t, err, execution.ErrLeaseLost)
	other := lease
	other.WorkerID = "w2"
	_, err = s.Finish(ctx, other, execution.Result{Status: execution.Succeeded}, now)
	require.ErrorIs(t, err, execution.ErrLeaseLost)

	tasks := []execution.TaskSummary{{Path: "load", Status: "succeeded", Attempts: 2, DurationMS: 12}}
	done, err := s.Finish(ctx, lease, execution.Result{Status: execution.Succeeded, Tasks: tasks}, now.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, execution.Succeeded, done.Status)
	require.Equal(t, tasks, done.Tasks)
	require.Nil(t, done.LeaseUntil)
	require.NotNil(t, done.EndedAt)

	// A final state never moves again, not even for the lease holder.
	_, err = s.Finish(ctx, lease, execution.Result{Status: execution.Failed}, now)
	var c *execution.ConflictError
	require.ErrorAs(t, err, &c)
	require.Equal(t, execution.Succeeded, c.Current.Status)
	_, err = s.Heartbeat(ctx, lease, now)
	require.ErrorIs(t, err, execution.ErrLeaseLost)

	_, err = s.Finish(ctx, lease, execution.Result{Status: execution.Running}, now)
	require.ErrorContains(t, err, "not a final status")
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
	_, err = s.Claim(ctx, pending.ID, "w1", now, now.Add(time.Minute))
	require.ErrorAs(t, err, &c, "a canceled execution is never claimed")

	s, running := setup(t)
	claimed, err := s.Claim(ctx, running.ID, "w1", now, now.Add(time.Minute))
	require.NoError(t, err)
	got, err = s.Stop(ctx, running.ID, now)
	require.NoError(t, err)
	require.Equal(t, execution.Stopping, got.Status)
	got, err = s.Stop(ctx, running.ID, now)
	require.NoError(t, err, "stopping twice is fine")
	require.Equal(t, execution.Stopping, got.Status)
	// The lease holder still heartbeats and ends it.
	st, err := s.Heartbeat(ctx, execution.LeaseOf(claimed), now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, execution.Stopping, st, "the heartbeat tells the worker of the stop")
	done, err := s.Finish(ctx, execution.LeaseOf(claimed), execution.Result{Status: execution.Canceled, Error: "stopped"}, now)
	require.NoError(t, err)
	require.Equal(t, execution.Canceled, done.Status)

	_, err = s.Stop(ctx, uuid.NewString(), now)
	require.ErrorIs(t, err, execution.ErrNotFound)
}

func TestCreateIdempotent(t *testing.T) {
	t.Parallel()
	s, e := setup(t)
	env := testenv.AWS(t)
	ctx := context.Background()
	idem := execstore.Idempotency{Table: env.Set.Catalog.Name, Scope: "ops", Key: uuid.NewString(), Hash: "h1"}

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
	require.ErrorIs(t, err, execution.ErrNotFound, "and makes no second one")

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
	s := execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name)
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
