package execstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/execstore"
	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/testenv"
)

// withRetries makes a pending execution that may be retried n times.
func withRetries(t *testing.T, n int) (*execstore.Store, execution.Execution) {
	t.Helper()
	s, e := setup(t)
	env := testenv.AWS(t)
	e.ID = e.ID[:len(e.ID)-1] + "r" // another id, same shape
	e.Retries = n
	require.NoError(t, execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name).Create(context.Background(), e))
	return s, e
}

// A lease that expired is taken over by the next claim: attempt+1, the lost
// attempt recorded, and the lost worker can no longer write.
func TestClaimTakesOverAnExpiredLease(t *testing.T) {
	t.Parallel()
	s, e := withRetries(t, 1)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	first, err := s.Claim(ctx, e.ID, "w1", now, now.Add(time.Second))
	require.NoError(t, err)

	// Not expired yet: no takeover.
	_, err = s.Claim(ctx, e.ID, "w2", now.Add(500*time.Millisecond), now.Add(time.Minute))
	var c *execution.ConflictError
	require.ErrorAs(t, err, &c)
	require.Equal(t, "w1", c.Current.WorkerID)

	later := now.Add(2 * time.Second)
	second, err := s.Claim(ctx, e.ID, "w2", later, later.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, execution.Running, second.Status)
	require.Equal(t, 2, second.Attempt)
	require.Equal(t, "w2", second.WorkerID)
	require.Equal(t, []execution.AttemptRecord{{Attempt: 1, WorkerID: "w1", StartedAt: now, EndedAt: now.Add(time.Second),
		Outcome: execution.OutcomeLost, Reason: "worker w1 lost attempt 1 (lease expired at " + now.Add(time.Second).Format(time.RFC3339Nano) + ")"}},
		second.Attempts)
	require.Equal(t, &later, second.ComputeStages().Claimed)

	// Fencing: the lost worker's writes fail and change nothing.
	_, err = s.Heartbeat(ctx, execution.LeaseOf(first), later.Add(time.Minute))
	require.ErrorIs(t, err, execution.ErrLeaseLost)
	_, err = s.Finish(ctx, execution.LeaseOf(first), execution.Result{Status: execution.Succeeded}, later)
	require.ErrorIs(t, err, execution.ErrLeaseLost)
	_, err = s.Retry(ctx, execution.LeaseOf(first), execution.AttemptRecord{EndedAt: later}, later)
	require.ErrorIs(t, err, execution.ErrLeaseLost)
	_, err = s.Release(ctx, execution.LeaseOf(first), execution.AttemptRecord{EndedAt: later})
	require.ErrorIs(t, err, execution.ErrLeaseLost)
	got, err := s.Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, second, got)

	done, err := s.Finish(ctx, execution.LeaseOf(second), execution.Result{Status: execution.Succeeded}, later)
	require.NoError(t, err)
	require.Equal(t, execution.Succeeded, done.Status)
}

func TestClaimOfALostAttemptWithoutRetriesEndsIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, tc := range []struct {
		name   string
		stop   bool
		status execution.Status
		reason string
	}{
		{"no retries left", false, execution.EndedUnexpectedly, "worker w1 lost attempt 1 (lease expired at %s); no retries left"},
		{"stopping", true, execution.Canceled, "stopped by request; worker w1 lost attempt 1 (lease expired at %s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, e := setup(t)
			if tc.stop {
				s, e = withRetries(t, 3)
			}
			_, err := s.Claim(ctx, e.ID, "w1", now, now.Add(time.Second))
			require.NoError(t, err)
			if tc.stop {
				_, err = s.Stop(ctx, e.ID, now)
				require.NoError(t, err)
			}
			_, err = s.Claim(ctx, e.ID, "w2", now.Add(2*time.Second), now.Add(time.Minute))
			var c *execution.ConflictError
			require.ErrorAs(t, err, &c)
			require.Equal(t, tc.status, c.Current.Status)
			require.Equal(t, 1, c.Current.Attempt)
			require.Equal(t, fmt.Sprintf(tc.reason, now.Add(time.Second).Format(time.RFC3339Nano)), c.Current.Error)
			require.Len(t, c.Current.Attempts, 1)
			require.Equal(t, execution.OutcomeLost, c.Current.Attempts[0].Outcome)
			require.Nil(t, c.Current.LeaseUntil)
			require.NotNil(t, c.Current.EndedAt)
		})
	}
}

// Many workers race to take over one lost attempt: exactly one runs it.
func TestTakeoverRace(t *testing.T) {
	t.Parallel()
	s, e := withRetries(t, 1)
	ctx := context.Background()
	now := time.Now()
	_, err := s.Claim(ctx, e.ID, "w0", now, now.Add(-time.Second))
	require.NoError(t, err)
	wins := make(chan string, 8)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			w := "w" + string(rune('a'+i))
			_, err := s.Claim(ctx, e.ID, w, now, now.Add(time.Minute))
			if err == nil {
				wins <- w
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			var c *execution.ConflictError
			require.ErrorAs(t, err, &c)
		}
	}
	require.Len(t, wins, 1)
	got, err := s.Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, 2, got.Attempt)
	require.Len(t, got.Attempts, 1, "one lost attempt recorded once")
}

func TestRetryWaitsForItsBackoff(t *testing.T) {
	t.Parallel()
	s, e := withRetries(t, 2)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	first, err := s.Claim(ctx, e.ID, "w1", now, now.Add(time.Minute))
	require.NoError(t, err)
	due := now.Add(5 * time.Second)
	got, err := s.Retry(ctx, execution.LeaseOf(first), execution.AttemptRecord{StartedAt: now, EndedAt: now.Add(time.Second), Reason: "exit 3"}, due)
	require.NoError(t, err)
	require.Equal(t, execution.Pending, got.Status)
	require.Equal(t, &due, got.NotBefore)
	require.Nil(t, got.LeaseUntil)
	require.Equal(t, []execution.AttemptRecord{{Attempt: 1, WorkerID: "w1", StartedAt: now, EndedAt: now.Add(time.Second),
		Outcome: execution.OutcomeFailed, Reason: "exit 3"}}, got.Attempts)

	_, err = s.Claim(ctx, e.ID, "w2", due.Add(-time.Millisecond), due.Add(time.Minute))
	var c *execution.ConflictError
	require.ErrorAs(t, err, &c, "not before its backoff")
	require.Equal(t, execution.Pending, c.Current.Status)
	second, err := s.Claim(ctx, e.ID, "w2", due, due.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 2, second.Attempt)
	require.Nil(t, second.NotBefore)

	// A release hands the attempt back at once and does not count.
	rel, err := s.Release(ctx, execution.LeaseOf(second), execution.AttemptRecord{StartedAt: due, EndedAt: due.Add(time.Second)})
	require.NoError(t, err)
	require.Equal(t, execution.Pending, rel.Status)
	require.Nil(t, rel.NotBefore)
	require.Equal(t, execution.OutcomeReleased, rel.Attempts[1].Outcome)
	require.Equal(t, 2, rel.CountedAttempts(), "the failed one and the next; the released one does not count")
	third, err := s.Claim(ctx, e.ID, "w3", due.Add(time.Second), due.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 3, third.Attempt)
	require.True(t, third.CanRetry(), "1 failed + 1 released + this one: one retry left")

	// A stopping execution is not handed back: the holder finishes it.
	_, err = s.Stop(ctx, e.ID, due)
	require.NoError(t, err)
	_, err = s.Retry(ctx, execution.LeaseOf(third), execution.AttemptRecord{EndedAt: due}, due)
	require.ErrorAs(t, err, &c)
	require.Equal(t, execution.Stopping, c.Current.Status)
	require.Equal(t, execution.LeaseOf(third), execution.LeaseOf(*c.Current))
}

func TestRecoverAndMarkEnqueued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)

	s, e := withRetries(t, 1)
	claimed, err := s.Claim(ctx, e.ID, "w1", now.Add(-time.Minute), now.Add(-30*time.Second))
	require.NoError(t, err)
	_, err = s.Recover(ctx, claimed, now.Add(-31*time.Second))
	require.ErrorContains(t, err, "has not expired")
	got, err := s.Recover(ctx, claimed, now)
	require.NoError(t, err)
	require.Equal(t, execution.Pending, got.Status)
	require.Equal(t, &now, got.EnqueuedAt)
	require.Equal(t, execution.OutcomeLost, got.Attempts[0].Outcome)
	_, err = s.Recover(ctx, claimed, now)
	var c *execution.ConflictError
	require.ErrorAs(t, err, &c, "fenced on the attempt it read")

	require.NoError(t, s.MarkEnqueued(ctx, got, now.Add(time.Second)))
	require.ErrorAs(t, s.MarkEnqueued(ctx, got, now.Add(time.Second)), &c, "only one of two reconcilers sends")

	s, e = setup(t)
	claimed, err = s.Claim(ctx, e.ID, "w1", now.Add(-time.Minute), now.Add(-30*time.Second))
	require.NoError(t, err)
	got, err = s.Recover(ctx, claimed, now)
	require.NoError(t, err)
	require.Equal(t, execution.EndedUnexpectedly, got.Status)
	require.Contains(t, got.Error, "no retries left")
}

func TestByStatus(t *testing.T) {
	t.Parallel()
	s, e := setup(t)
	ctx := context.Background()
	now := time.Now()
	found := func(list []execution.Execution) bool {
		for _, x := range list {
			if x.ID == e.ID {
				return true
			}
		}
		return false
	}
	list, err := s.ByStatus(ctx, execution.Pending, now.Add(time.Second), time.Time{}, 100000)
	require.NoError(t, err)
	require.True(t, found(list))
	list, err = s.ByStatus(ctx, execution.Pending, e.CreatedAt.Add(-time.Second), time.Time{}, 100000)
	require.NoError(t, err)
	require.False(t, found(list), "created after the bound")

	_, err = s.Claim(ctx, e.ID, "w1", now, now.Add(time.Minute))
	require.NoError(t, err)
	list, err = s.ByStatus(ctx, execution.Running, now.Add(time.Second), now.Add(2*time.Minute), 100000)
	require.NoError(t, err)
	require.True(t, found(list))
	list, err = s.ByStatus(ctx, execution.Running, now.Add(time.Second), now, 100000)
	require.NoError(t, err)
	require.False(t, found(list), "its lease has not expired")
}
