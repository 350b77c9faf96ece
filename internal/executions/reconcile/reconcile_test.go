package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/queue"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/reconcile"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type bundle struct {
	store *execstore.Store
	queue *queue.Queue
	pool  string
	rec   *reconcile.Reconciler
}

// setup gives each test its own pool (and queue) in the shared executions
// table: the reconciler leaves other pools' executions alone.
func setup(t *testing.T) bundle {
	t.Helper()
	env := testenv.AWS(t)
	ctx := context.Background()
	pool := testenv.Name("rec")
	out, err := env.Clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("test-" + pool)})
	require.NoError(t, err)
	b := bundle{
		store: execstore.New(env.Clients.DynamoDB, env.Set.Executions.Name, env.Set.Catalog.Name),
		queue: queue.New(env.Clients.SQS, aws.ToString(out.QueueUrl)),
		pool:  pool,
	}
	t.Cleanup(func() {
		_, _ = env.Clients.SQS.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
	})
	b.rec, err = reconcile.New(b.store, map[string]reconcile.Enqueuer{pool: b.queue},
		reconcile.Config{PendingAfter: 30 * time.Second, LostAfter: 10 * time.Second, Limit: 100000})
	require.NoError(t, err)
	return b
}

// create records a pending execution created age ago (no message sent).
func (b bundle) create(t *testing.T, age time.Duration, retries int) execution.Execution {
	t.Helper()
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "rec", Pool: b.pool,
		Status: execution.Pending, Definition: []byte(`{}`), Retries: retries, LostRetries: retries,
		CreatedAt: time.Now().Add(-age).UTC().Truncate(time.Millisecond),
	}
	require.NoError(t, b.store.Create(context.Background(), e))
	return e
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
	ctx := context.Background()
	stuck := b.create(t, time.Minute, 0)
	fresh := b.create(t, time.Second, 0)

	rep, err := b.rec.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Requeued)
	require.Equal(t, []string{stuck.ID}, b.received(t), "the fresh one is left alone")
	got, err := b.store.Get(ctx, stuck.ID)
	require.NoError(t, err)
	require.NotNil(t, got.EnqueuedAt)
	require.Equal(t, got.EnqueuedAt, got.ComputeStages().Enqueued)
	got, err = b.store.Get(ctx, fresh.ID)
	require.NoError(t, err)
	require.Equal(t, got.CreatedAt, *got.ComputeStages().Enqueued, "sent by the API: enqueued when accepted")

	rep, err = b.rec.Pass(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Requeued, "just enqueued: not again before PendingAfter")
	require.Empty(t, b.received(t))

	// Each re-enqueue doubles the wait before the next.
	at := func(d time.Duration) reconcile.Report {
		r, err := reconcile.New(b.store, map[string]reconcile.Enqueuer{b.pool: b.queue}, reconcile.Config{
			PendingAfter: 30 * time.Second, Limit: 100000, Now: func() time.Time { return got.EnqueuedAt.Add(d) }})
		require.NoError(t, err)
		rep, err := r.Pass(ctx)
		require.NoError(t, err)
		return rep
	}
	got, err = b.store.Get(ctx, stuck.ID)
	require.NoError(t, err)
	require.Equal(t, 1, got.Requeues)
	at(45 * time.Second)
	require.Equal(t, []string{fresh.ID}, b.received(t), "only the fresh one, now old: the second wait is 60 s")
	at(61 * time.Second)
	require.Equal(t, []string{stuck.ID}, b.received(t))
}

// Attempts lost long ago that no worker took over get the lost-attempt
// rule without running: retried (pending, enqueued) if retries are left,
// else ended; a stopping one ends canceled.
func TestExpiredRunningExecutionsAreRecovered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	now := time.Now()
	env := testenv.AWS(t)
	// Worker sessions that started two minutes ago and were never renewed:
	// their leases ran out at leaseUntil.
	reg := registry.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name)
	reg.Now = func() time.Time { return now.Add(-2 * time.Minute) }
	dead := testenv.Name("dead")
	claim := func(e execution.Execution, leaseUntil time.Time) execution.Execution {
		id := dead
		if leaseUntil.After(now.Add(-10 * time.Second)) {
			id = dead + "-recent"
		}
		_, sess, _, err := reg.Register(ctx, registry.Registration{ID: id + "-" + e.ID[len(e.ID)-6:], Machine: "m", Pools: []string{b.pool}, MaxTasks: 4},
			leaseUntil.Sub(now.Add(-2*time.Minute)))
		require.NoError(t, err)
		got, err := b.store.Claim(ctx, e.ID, sess, now.Add(-2*time.Minute))
		require.NoError(t, err)
		return got
	}
	retry := b.create(t, 3*time.Minute, 1)
	claim(retry, now.Add(-time.Minute))
	noRetry := b.create(t, 3*time.Minute, 0)
	claim(noRetry, now.Add(-time.Minute))
	stopping := b.create(t, 3*time.Minute, 2)
	claim(stopping, now.Add(-time.Minute))
	_, err := b.store.Stop(ctx, stopping.ID, now)
	require.NoError(t, err)
	recent := b.create(t, 3*time.Minute, 1)
	claim(recent, now.Add(-time.Second)) // a worker receiving its message takes it over

	rep, err := b.rec.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, reconcile.Report{Recovered: 1, Ended: 2, Skipped: 1}, rep, "the recent one is skipped: lost too lately")
	require.Equal(t, []string{retry.ID}, b.received(t))

	got, err := b.store.Get(ctx, retry.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Pending, got.Status)
	require.Equal(t, execution.OutcomeLost, got.Attempts[0].Outcome)
	got, err = b.store.Get(ctx, noRetry.ID)
	require.NoError(t, err)
	require.Equal(t, execution.EndedUnexpectedly, got.Status)
	require.Contains(t, got.Error, "worker "+dead)
	require.Contains(t, got.Error, "lost attempt 1 (its lease expired at ")
	require.Contains(t, got.Error, "no lost-attempt retries left")
	got, err = b.store.Get(ctx, stopping.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Canceled, got.Status)
	got, err = b.store.Get(ctx, recent.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Running, got.Status)

	// The retried one is claimed by the next worker as attempt 2.
	_, w2, _, err := registry.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name).Register(ctx,
		registry.Registration{ID: testenv.Name("w2"), Machine: "m", Pools: []string{b.pool}, MaxTasks: 1}, time.Minute)
	require.NoError(t, err)
	claimed, err := b.store.Claim(ctx, retry.ID, w2, time.Now())
	require.NoError(t, err)
	require.Equal(t, 2, claimed.Attempt)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := reconcile.New(nil, nil, reconcile.Config{PendingAfter: -1, LostAfter: -1, Limit: -1})
	for _, want := range []string{"pending after", "lost after", "limit"} {
		require.ErrorContains(t, err, want)
	}
}
