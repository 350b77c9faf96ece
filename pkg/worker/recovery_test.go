package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/pkgrun"
	"github.com/scaleout/scaleout/pkg/queue"
	"github.com/scaleout/scaleout/pkg/worker"
)

// submitWith records and enqueues an execution with retries.
func (b bundle) submitWith(t *testing.T, retries int, command ...string) execution.Execution {
	t.Helper()
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "worker-test", Pool: "other",
		Status: execution.Pending, Definition: pkgrun.CommandDefinition("worker-test", command), Retries: retries,
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	ctx := context.Background()
	require.NoError(t, b.store.Create(ctx, e))
	require.NoError(t, b.queue.Send(ctx, queue.Task{ExecutionID: e.ID, Pool: "other"}))
	return e
}

// lostWorker claims e for a worker that then dies: its lease expires in
// a second and nobody heartbeats it.
func (b bundle) lostWorker(t *testing.T, e execution.Execution) execution.Execution {
	t.Helper()
	now := time.Now()
	got, err := b.store.Claim(context.Background(), e.ID, "dead-worker", now, now.Add(time.Second))
	require.NoError(t, err)
	return got
}

// A worker whose lease expired (it died) is taken over by the next worker
// that receives the message: a new attempt runs, the lost one is recorded,
// and the dead worker can never write over the new attempt.
func TestLostWorkerIsTakenOver(t *testing.T) {
	b := setup(t)
	e := b.submitWith(t, 1, "true")
	lost := b.lostWorker(t, e)
	b.start(t, b.runner, worker.Config{ID: "w2", Lease: 3 * time.Second})

	got := b.waitStatus(t, e.ID, execution.Succeeded)
	require.Equal(t, 2, got.Attempt)
	require.Equal(t, "w2", got.WorkerID)
	require.Len(t, got.Attempts, 1)
	require.Equal(t, execution.OutcomeLost, got.Attempts[0].Outcome)
	require.Equal(t, "dead-worker", got.Attempts[0].WorkerID)
	require.Contains(t, got.Attempts[0].Reason, "worker dead-worker lost attempt 1 (lease expired at ")
	st := got.ComputeStages()
	require.False(t, st.Claimed.Before(*lost.LeaseUntil), "taken over only once the lease expired")

	_, err := b.store.Finish(context.Background(), execution.LeaseOf(lost), execution.Result{Status: execution.Failed}, time.Now())
	require.ErrorIs(t, err, execution.ErrLeaseLost, "the lost attempt cannot overwrite the newer one")
	b.queueEmpty(t)
}

func TestLostWorkerWithoutRetriesEndsUnexpectedly(t *testing.T) {
	b := setup(t)
	e := b.submitWith(t, 0, "true")
	lost := b.lostWorker(t, e)
	b.start(t, b.runner, worker.Config{ID: "w2", Lease: 3 * time.Second})

	got := b.waitStatus(t, e.ID, execution.EndedUnexpectedly)
	require.Equal(t, 1, got.Attempt, "it never ran again")
	require.Equal(t, "worker dead-worker lost attempt 1 (lease expired at "+
		lost.LeaseUntil.UTC().Format(time.RFC3339Nano)+"); no retries left", got.Error)
	require.Len(t, got.Attempts, 1)
	b.queueEmpty(t)
}

// A failed package runs again after a backoff while retries are left; each
// failed attempt is recorded and only the last failure fails the execution.
func TestFailedPackageIsRetriedWithBackoff(t *testing.T) {
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
	b := setup(t)
	cmd, finish := waitFile(t)
	stop1 := b.start(t, b.runner, worker.Config{ID: "w1", Grace: 500 * time.Millisecond})
	e := b.submitWith(t, 0, cmd...)
	require.Equal(t, "w1", b.waitStatus(t, e.ID, execution.Running).WorkerID)

	b.start(t, b.runner, worker.Config{ID: "w2"})
	stopped := time.Now()
	stop1()
	var got execution.Execution
	require.Eventually(t, func() bool {
		var err error
		got, err = b.store.Get(context.Background(), e.ID)
		require.NoError(t, err)
		return got.Status == execution.Running && got.WorkerID == "w2"
	}, 15*time.Second, 20*time.Millisecond, "w2 never took the released execution over")
	require.Equal(t, 2, got.Attempt)
	require.Len(t, got.Attempts, 1)
	require.Equal(t, execution.OutcomeReleased, got.Attempts[0].Outcome)
	require.Equal(t, "w1", got.Attempts[0].WorkerID)
	require.True(t, got.LeaseUntil.After(stopped), "w2 holds a fresh lease")
	require.True(t, got.CanRetry() == false && got.Retries == 0, "no retries, yet it runs again: a release does not count")

	finish()
	got = b.waitStatus(t, e.ID, execution.Succeeded)
	require.Equal(t, "w2", got.WorkerID)
	b.queueEmpty(t)
}

// flakyStore fails heartbeats while down is set, as when the worker lost
// its network.
type flakyStore struct {
	worker.Store
	down atomic.Bool
}

func (f *flakyStore) Heartbeat(ctx context.Context, l execution.Lease, until time.Time) (execution.Status, error) {
	if f.down.Load() {
		return "", errors.New("network unreachable")
	}
	return f.Store.Heartbeat(ctx, l, until)
}

// A worker that cannot renew its lease stops the run itself once the lease
// expired, so that it never runs alongside the attempt that takes over.
func TestUnrenewedLeaseStopsTheRun(t *testing.T) {
	b := setup(t)
	store := &flakyStore{Store: b.store}
	r := blockingRunner{started: make(chan string, 1), ended: make(chan struct{})}
	cfg := worker.Config{ID: "w1", Lease: 3 * time.Second, PollWait: time.Second,
		Logger: slog.New(slog.NewTextHandler(testLog{t}, nil))}
	w, err := worker.New(store, b.queue, r, cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	e := b.submitWith(t, 1, "ignored")
	require.Equal(t, e.ID, <-r.started)
	claimed, err := b.store.Get(context.Background(), e.ID)
	require.NoError(t, err)
	store.down.Store(true)

	// The run ends on its own, having recorded nothing.
	select {
	case <-r.ended:
	case <-time.After(15 * time.Second):
		t.Fatal("the run went on without a lease")
	}
	got, err := b.store.Get(context.Background(), e.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Running, got.Status)
	require.Equal(t, execution.LeaseOf(claimed), execution.LeaseOf(got))
	require.False(t, time.Now().Add(time.Second).Before(*got.LeaseUntil), "it stopped only when its lease was about to expire")

	// Another attempt takes over and ends it; the message left behind is
	// dropped when it comes back.
	store.down.Store(false)
	var next execution.Execution
	require.Eventually(t, func() bool {
		now := time.Now()
		next, err = b.store.Claim(context.Background(), e.ID, "w2", now, now.Add(time.Minute))
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "taken over once the lease expired")
	require.Equal(t, 2, next.Attempt)
	_, err = b.store.Finish(context.Background(), execution.LeaseOf(next), execution.Result{Status: execution.Succeeded}, time.Now())
	require.NoError(t, err)
	b.queueEmpty(t)
}
