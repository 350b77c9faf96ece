package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execmem"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/reconcile"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/testkit/testclock"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
)

// The reconciler's tests run on the in-memory store and queue, on a clock
// the test moves: execmem and taskqueue.Memory pass the same conformance
// suites (exectest, queuetest) as the DynamoDB store and the SQS queue, so
// what holds here holds there. Each test has its own store, queue and
// clock, so they all run in parallel and none sleeps.

const pool = "default"

type bundle struct {
	clock *testclock.Clock
	store *execmem.Store
	queue *taskqueue.Memory
	rec   *reconcile.Reconciler
}

// setup gives a test its own store, pool queue and reconciler (pending
// after 30 s, lost after 10 s).
func setup(t *testing.T) bundle {
	t.Helper()
	b := bundle{clock: testclock.New(), queue: taskqueue.NewMemory(taskqueue.MemoryOptions{})}
	b.store = execmem.New(b.clock.Now)
	b.rec = b.reconciler(t, b.queue)
	return b
}

// reconciler is another reconciler of b's store and pool, sending to q.
func (b bundle) reconciler(t *testing.T, q reconcile.Enqueuer) *reconcile.Reconciler {
	t.Helper()
	r, err := reconcile.New(b.store, map[string]reconcile.Enqueuer{pool: q},
		reconcile.Config{PendingAfter: 30 * time.Second, LostAfter: 10 * time.Second, Now: b.clock.Now})
	require.NoError(t, err)
	return r
}

// create records a pending execution of pool created age ago (no message
// sent).
func (b bundle) create(t *testing.T, pool string, age time.Duration, retries int) execution.Execution {
	t.Helper()
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "rec", Pool: pool,
		Status: execution.Pending, Definition: []byte(`{}`), Retries: retries, LostRetries: retries,
		CreatedAt: b.clock.Now().Add(-age),
	}
	require.NoError(t, b.store.Create(context.Background(), e))
	return e
}

// get reads an execution.
func (b bundle) get(t *testing.T, id string) execution.Execution {
	t.Helper()
	got, err := b.store.Get(context.Background(), id)
	require.NoError(t, err)
	return got
}

// pass runs one pass of b's reconciler, which must have no errors.
func (b bundle) pass(t *testing.T) reconcile.Report {
	t.Helper()
	rep, err := b.rec.Pass(context.Background())
	require.NoError(t, err)
	return rep
}

// received drains the queue and returns the execution ids it held.
func (b bundle) received(t *testing.T) []string {
	t.Helper()
	var ids []string
	for {
		msgs, err := b.queue.Receive(context.Background(), 10, 0, 0)
		require.NoError(t, err)
		if len(msgs) == 0 {
			return ids
		}
		for _, m := range msgs {
			ids = append(ids, m.ExecutionID)
			require.NoError(t, b.queue.Delete(context.Background(), m))
		}
	}
}

// An execution whose message never went out (the API died between its two
// writes) is enqueued again once it has waited PendingAfter, and only once
// per PendingAfter.
func TestPendingWithoutMessageIsEnqueuedAgain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stuck := b.create(t, pool, time.Minute, 0)
	fresh := b.create(t, pool, time.Second, 0)

	require.Equal(t, reconcile.Report{Requeued: 1}, b.pass(t))
	require.Equal(t, []string{stuck.ID}, b.received(t), "the fresh one is left alone")
	got := b.get(t, stuck.ID)
	require.NotNil(t, got.EnqueuedAt)
	require.Equal(t, b.clock.Now(), *got.EnqueuedAt)
	require.Equal(t, got.EnqueuedAt, got.ComputeStages().Enqueued)
	require.Equal(t, 1, got.Requeues)
	f := b.get(t, fresh.ID)
	require.Equal(t, f.CreatedAt, *f.ComputeStages().Enqueued, "sent by the API: enqueued when accepted")

	require.Zero(t, b.pass(t).Requeued, "just enqueued: not again before PendingAfter")
	require.Empty(t, b.received(t))

	// Each re-enqueue doubles the wait before the next.
	b.clock.Add(45 * time.Second)
	require.Equal(t, reconcile.Report{Requeued: 1}, b.pass(t))
	require.Equal(t, []string{fresh.ID}, b.received(t), "only the fresh one, now old: the second wait is 60 s")
	b.clock.Add(16 * time.Second)
	require.Equal(t, reconcile.Report{Requeued: 1}, b.pass(t))
	require.Equal(t, []string{stuck.ID}, b.received(t), "61 s after its first re-enqueue; the fresh one waits 60 s from 45 s")
	require.Equal(t, 2, b.get(t, stuck.ID).Requeues)

	// The wait stops doubling at 64 times PendingAfter (after six
	// re-enqueues; a seventh would make it 128 times).
	for range 5 {
		require.NoError(t, b.store.MarkEnqueued(context.Background(), b.get(t, stuck.ID), b.clock.Now()))
	}
	require.Equal(t, 7, b.get(t, stuck.ID).Requeues)
	b.clock.Add(64*30*time.Second - time.Millisecond)
	require.Equal(t, []string{fresh.ID}, requeued(t, b), "the stuck one not yet: 64 × 30 s")
	b.clock.Add(time.Millisecond)
	require.Equal(t, []string{stuck.ID}, requeued(t, b))
}

// requeued runs a pass and returns the ids it sent.
func requeued(t *testing.T, b bundle) []string {
	t.Helper()
	b.pass(t)
	return b.received(t)
}

// Executions of pools the reconciler has no queue for are neither touched
// nor counted: another reconciler serves them.
func TestOtherPoolsAreLeftAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.create(t, "other", time.Hour, 1)
	_, sess, _, err := b.store.Registry().Register(context.Background(),
		registrytype.Registration{ID: "w", Machine: "m", Pools: []string{"other"}, MaxTasks: 1}, time.Minute)
	require.NoError(t, err)
	held := b.create(t, "other", time.Hour, 1)
	_, err = b.store.Claim(context.Background(), held.ID, sess, b.clock.Now())
	require.NoError(t, err)
	b.clock.Add(time.Hour) // the worker is long dead

	require.Equal(t, reconcile.Report{}, b.pass(t))
	require.Empty(t, b.received(t))
	require.Nil(t, b.get(t, other.ID).EnqueuedAt)
	require.Equal(t, execution.Running, b.get(t, held.ID).Status)
}

// Attempts lost long ago that no worker took over get the lost-attempt
// rule without running: retried (pending, enqueued) if retries are left,
// else ended; a stopping one ends canceled.
func TestExpiredRunningExecutionsAreRecovered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	reg := b.store.Registry()
	// Each execution is claimed now by a worker of its own whose session
	// is never renewed: its lease runs out after lease.
	claim := func(e execution.Execution, worker string, lease time.Duration) {
		_, sess, _, err := reg.Register(ctx, registrytype.Registration{ID: worker, Machine: "m", Pools: []string{pool}, MaxTasks: 4}, lease)
		require.NoError(t, err)
		_, err = b.store.Claim(ctx, e.ID, sess, b.clock.Now())
		require.NoError(t, err)
	}
	retry := b.create(t, pool, time.Minute, 1)
	claim(retry, "dead-1", time.Minute)
	noRetry := b.create(t, pool, time.Minute, 0)
	claim(noRetry, "dead-2", time.Minute)
	stopping := b.create(t, pool, time.Minute, 2)
	claim(stopping, "dead-3", time.Minute)
	_, err := b.store.Stop(ctx, stopping.ID, b.clock.Now())
	require.NoError(t, err)
	recent := b.create(t, pool, time.Minute, 1)
	claim(recent, "recent", 2*time.Minute-time.Second) // a worker receiving its message takes it over
	b.clock.Add(2 * time.Minute)

	require.Equal(t, reconcile.Report{Recovered: 1, Ended: 2, Skipped: 1}, b.pass(t), "the recent one is skipped: lost too lately")
	require.Equal(t, []string{retry.ID}, b.received(t))

	got := b.get(t, retry.ID)
	require.Equal(t, execution.Pending, got.Status)
	require.Equal(t, b.clock.Now(), *got.EnqueuedAt)
	require.Len(t, got.Attempts, 1)
	require.Equal(t, execution.OutcomeLost, got.Attempts[0].Outcome)
	got = b.get(t, noRetry.ID)
	require.Equal(t, execution.EndedUnexpectedly, got.Status)
	require.Contains(t, got.Error, "worker dead-2")
	require.Contains(t, got.Error, "lost attempt 1 (its lease expired at ")
	require.Contains(t, got.Error, "no lost-attempt retries left")
	require.Equal(t, execution.Canceled, b.get(t, stopping.ID).Status)
	require.Equal(t, execution.Running, b.get(t, recent.ID).Status)

	// The recent one's turn comes LostAfter after its lease ran out.
	b.clock.Add(8 * time.Second)
	require.Equal(t, reconcile.Report{Skipped: 1}, b.pass(t))
	b.clock.Add(2 * time.Second)
	require.Equal(t, reconcile.Report{Recovered: 1}, b.pass(t))
	require.Equal(t, []string{recent.ID}, b.received(t))

	// The retried one is claimed by the next worker as attempt 2.
	_, w2, _, err := reg.Register(ctx, registrytype.Registration{ID: "w2", Machine: "m", Pools: []string{pool}, MaxTasks: 1}, time.Minute)
	require.NoError(t, err)
	claimed, err := b.store.Claim(ctx, retry.ID, w2, b.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 2, claimed.Attempt)
}

// Of two reconcilers that read the same executions, only one acts on
// each; the other counts it skipped.
func TestTwoReconcilersActOnceEach(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 20 {
		b.create(t, pool, time.Hour, 0)
	}
	other := b.reconciler(t, b.queue)
	type result struct {
		rep reconcile.Report
		err error
	}
	results := make(chan result, 2)
	for _, r := range []*reconcile.Reconciler{b.rec, other} {
		go func() {
			rep, err := r.Pass(context.Background())
			results <- result{rep, err}
		}()
	}
	a, c := <-results, <-results
	require.NoError(t, a.err)
	require.NoError(t, c.err)
	require.Zero(t, a.rep.Failed+c.rep.Failed)
	require.Equal(t, 20, a.rep.Requeued+c.rep.Requeued, "%+v %+v", a.rep, c.rep)
	require.Len(t, b.received(t), 20, "one message each")
}

// failingQueue refuses every message.
type failingQueue struct{}

func (failingQueue) Send(_ context.Context, t taskqueue.Task) error {
	return fmt.Errorf("send execution %s: %w", t.ExecutionID, errors.New("the queue does not exist"))
}

// A message that cannot be sent is counted failed with the execution in
// the error, and the pass goes on with the others. It was recorded as
// enqueued, so a later pass sends it once the wait after a re-enqueue
// (doubled: twice PendingAfter) has passed.
func TestSendFailureIsCountedAndRetriedLater(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.create(t, pool, 2*time.Minute, 0)
	second := b.create(t, pool, time.Minute, 0)
	broken := b.reconciler(t, failingQueue{})

	rep, err := broken.Pass(context.Background())
	require.Equal(t, reconcile.Report{Failed: 2}, rep)
	require.ErrorContains(t, err, "re-enqueue execution "+first.ID)
	require.ErrorContains(t, err, "re-enqueue execution "+second.ID)
	require.ErrorContains(t, err, "the queue does not exist")

	require.Equal(t, reconcile.Report{}, b.pass(t), "recorded as enqueued: not again before PendingAfter")
	b.clock.Add(30 * time.Second)
	require.Equal(t, reconcile.Report{}, b.pass(t), "the wait doubled")
	b.clock.Add(30 * time.Second)
	require.Equal(t, reconcile.Report{Requeued: 2}, b.pass(t))
	require.ElementsMatch(t, []string{first.ID, second.ID}, b.received(t))
}

// Run passes at once, then every interval, until its context ends.
func TestRunPassesUntilCanceled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stuck := b.create(t, pool, time.Hour, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.rec.Run(ctx, time.Hour) }()

	msgs, err := b.queue.Receive(context.Background(), 10, 10*time.Second, 0)
	require.NoError(t, err)
	require.Len(t, msgs, 1, "the first pass runs at once")
	require.Equal(t, stuck.ID, msgs[0].ExecutionID)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := reconcile.New(nil, nil, reconcile.Config{PendingAfter: -1, LostAfter: -1, Limit: -1})
	for _, want := range []string{"pending after", "lost after", "limit"} {
		require.ErrorContains(t, err, want)
	}
}
