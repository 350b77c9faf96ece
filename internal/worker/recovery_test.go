package worker_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/packages/pkgrun"
	"github.com/scaleout/scaleout/internal/worker"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

// submitWith records and enqueues an execution with retries.
func (b bundle) submitWith(t *testing.T, retries int, command ...string) execution.Execution {
	t.Helper()
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "worker-test", Pool: pool,
		Status: execution.Pending, Definition: pkgrun.CommandDefinition("worker-test", command), Retries: retries, LostRetries: retries,
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	ctx := context.Background()
	require.NoError(t, b.store.Create(ctx, e))
	require.NoError(t, b.queue.Send(ctx, taskqueue.Task{ExecutionID: e.ID, Pool: pool}))
	return e
}

// lostWorker claims e for a worker that then dies: its session's lease
// runs out in three seconds and nobody renews it.
func (b bundle) lostWorker(t *testing.T, e execution.Execution) (execution.Execution, registry.Session) {
	t.Helper()
	_, sess, _, err := b.reg.Register(context.Background(), registry.Registration{ID: "dead", Machine: "m",
		Pools: []string{pool}, MaxTasks: 1}, 3*time.Second)
	require.NoError(t, err)
	got, err := b.store.Claim(context.Background(), e.ID, sess, time.Now())
	require.NoError(t, err)
	return got, sess
}

// A worker whose lease expired (it died) is taken over by the next worker
// that receives the message: a new attempt runs, the lost one is recorded,
// and the dead worker can never write over the new attempt.
func TestLostWorkerIsTakenOver(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.submitWith(t, 1, "true")
	lost, sess := b.lostWorker(t, e)
	b.start(t, b.runner, worker.Config{ID: "w2", Lease: 3 * time.Second})

	got := b.waitStatus(t, e.ID, execution.Succeeded)
	require.Equal(t, 2, got.Attempt)
	require.Equal(t, "w2", got.WorkerID)
	require.Len(t, got.Attempts, 1)
	require.Equal(t, execution.OutcomeLost, got.Attempts[0].Outcome)
	require.Equal(t, sess.WorkerID, got.Attempts[0].WorkerID)
	require.Contains(t, got.Attempts[0].Reason, "worker "+sess.WorkerID+" lost attempt 1 (its lease expired at ")
	st := got.ComputeStages()
	require.False(t, st.Claimed.Before(sess.LeaseUntil), "taken over only once the lease expired")

	_, err := b.store.Finish(context.Background(), execution.LeaseOf(lost), execution.Result{Status: execution.Failed}, time.Now())
	require.ErrorIs(t, err, execution.ErrLeaseLost, "the lost attempt cannot overwrite the newer one")
	b.queueEmpty(t)
}

func TestLostWorkerWithoutRetriesEndsUnexpectedly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.submitWith(t, 0, "true")
	_, sess := b.lostWorker(t, e)
	b.start(t, b.runner, worker.Config{ID: "w2", Lease: 3 * time.Second})

	got := b.waitStatus(t, e.ID, execution.EndedUnexpectedly)
	require.Equal(t, 1, got.Attempt, "it never ran again")
	require.Equal(t, "worker "+sess.WorkerID+" lost attempt 1 (its lease expired at "+
		sess.LeaseUntil.UTC().Format(time.RFC3339Nano)+"); no lost-attempt retries left (lost_retries 0)", got.Error)
	require.Len(t, got.Attempts, 1)
	b.queueEmpty(t)
}

// A failed package runs again after a backoff while retries are left; each
// failed attempt is recorded and only the last failure fails the execution.
func TestFailedPackageIsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t, b.runner, worker.Config{ID: "w1", RetryBackoff: time.Second, RetryBackoffMax: 2 * time.Second})

	e := b.submitWith(t, 2, "sh", "-c", "exit 3")
	got := b.waitStatus(t, e.ID, execution.Failed)
	require.Equal(t, 3, got.Attempt)
	require.Len(t, got.Attempts, 2)
	for i, a := range got.Attempts {
		require.Equal(t, i+1, a.Attempt)
		require.Equal(t, execution.OutcomeFailed, a.Outcome)
		require.Contains(t, a.Reason, "exited with code 3")
	}
	// The backoffs (1 s, then 2 s) held each retry back.
	require.GreaterOrEqual(t, got.Attempts[1].StartedAt.Sub(got.Attempts[0].EndedAt), time.Second)
	require.GreaterOrEqual(t, got.StartedAt.Sub(got.Attempts[1].EndedAt), 2*time.Second)
	require.Contains(t, got.Tasks[0].Error, "exited with code 3")

	// A retry that succeeds ends the execution succeeded.
	marker := filepath.Join(t.TempDir(), "second")
	e = b.submitWith(t, 1, "sh", "-c", "[ -e "+marker+" ] || { touch "+marker+"; exit 5; }")
	got = b.waitStatus(t, e.ID, execution.Succeeded)
	require.Equal(t, 2, got.Attempt)
	require.Len(t, got.Attempts, 1)
	require.Contains(t, got.Attempts[0].Reason, "exited with code 5")
	b.queueEmpty(t)
}

// On stop, what is still running when the grace period ends is released:
// another worker runs it at once, not after a lease timeout, and the
// release does not use a retry.
func TestDrainReleasesRunningExecutions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cmd, finish := waitFile(t)
	stop1 := b.start(t, b.runner, worker.Config{ID: "w1", Grace: 500 * time.Millisecond})
	e := b.submitWith(t, 0, cmd...)
	require.Equal(t, "w1", b.waitStatus(t, e.ID, execution.Running).WorkerID)

	b.start(t, b.runner, worker.Config{ID: "w2"})
	stopped := time.Now()
	stop1()
	var got execution.Execution
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var err error
		got, err = b.store.Get(context.Background(), e.ID)
		require.NoError(c, err)
		assert.Equal(c, execution.Running, got.Status)
		assert.Equal(c, "w2", got.WorkerID)
	}, 15*time.Second, 20*time.Millisecond, "w2 never took the released execution over")
	require.Equal(t, 2, got.Attempt)
	require.Len(t, got.Attempts, 1)
	require.Equal(t, execution.OutcomeReleased, got.Attempts[0].Outcome)
	require.Equal(t, "w1", got.Attempts[0].WorkerID)
	require.True(t, got.StartedAt.After(stopped), "w2 runs a fresh attempt")
	require.True(t, got.CanRetry() == false && got.Retries == 0, "no retries, yet it runs again: a release does not count")

	finish()
	got = b.waitStatus(t, e.ID, execution.Succeeded)
	require.Equal(t, "w2", got.WorkerID)
	b.queueEmpty(t)
}

// flakyRegistry fails renewals while down is set, as when the worker lost
// its network.
type flakyRegistry struct {
	worker.Registry
	down atomic.Bool
}

func (f *flakyRegistry) Renew(ctx context.Context, sess registry.Session, until time.Time, runs []registry.Run, handled []string) (registry.Signals, error) {
	if f.down.Load() {
		return registry.Signals{}, errors.New("network unreachable")
	}
	return f.Registry.Renew(ctx, sess, until, runs, handled)
}

// A worker that cannot renew its session stops the run itself just before
// the lease runs out, so that it never runs alongside the attempt that
// takes over.
func TestUnrenewedLeaseStopsTheRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reg := &flakyRegistry{Registry: b.reg}
	r := blockingRunner{started: make(chan string, 1), ended: make(chan struct{})}
	id := "w1"
	b.start(t, r, worker.Config{ID: id, Registry: reg})

	e := b.submitWith(t, 1, "ignored")
	require.Equal(t, e.ID, <-r.started)
	claimed, err := b.store.Get(context.Background(), e.ID)
	require.NoError(t, err)
	reg.down.Store(true)

	// The run ends on its own, having recorded nothing.
	select {
	case <-r.ended:
	case <-time.After(15 * time.Second):
		t.Fatal("the run went on without a lease")
	}
	ended := time.Now()
	got, err := b.store.Get(context.Background(), e.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Running, got.Status)
	require.Equal(t, execution.LeaseOf(claimed), execution.LeaseOf(got))
	st, err := reg.SessionOf(context.Background(), id)
	require.NoError(t, err)
	require.False(t, ended.Add(time.Second).Before(st.LeaseUntil), "it stopped only when its lease was about to run out")

	// Another attempt takes over once the lease ran out.
	_, sess, _, err := b.reg.Register(context.Background(), registry.Registration{ID: "w2", Machine: "m",
		Pools: []string{pool}, MaxTasks: 1}, time.Minute)
	require.NoError(t, err)
	var next execution.Execution
	require.Eventually(t, func() bool {
		next, err = b.store.Claim(context.Background(), e.ID, sess, time.Now())
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "taken over once the lease ran out")
	require.Equal(t, 2, next.Attempt)
	reg.down.Store(false)
	_, err = b.store.Finish(context.Background(), execution.LeaseOf(next), execution.Result{Status: execution.Succeeded}, time.Now())
	require.NoError(t, err)
	b.queueEmpty(t)
}
