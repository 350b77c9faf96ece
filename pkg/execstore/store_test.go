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

	require.NoError(t, s.Heartbeat(ctx, lease, now.Add(2*time.Minute)))
	stale := lease
	stale.Attempt = 0
	require.ErrorIs(t, s.Heartbeat(ctx, stale, now), execution.ErrLeaseLost)
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
	require.ErrorIs(t, s.Heartbeat(ctx, lease, now), execution.ErrLeaseLost)

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
