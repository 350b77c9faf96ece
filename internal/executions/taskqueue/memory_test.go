package taskqueue_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/executions/taskqueue/queuetest"
)

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, func(*testing.T) taskqueue.Queue { return taskqueue.NewMemory(taskqueue.MemoryOptions{}) })
}

// What the suite leaves alone because the SQS stand-in differs from SQS:
// stale receipts and the redrive to dead letters.

func TestMemoryStaleReceipt(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q := taskqueue.NewMemory(taskqueue.MemoryOptions{})
	require.NoError(t, q.Send(ctx, taskqueue.Task{ExecutionID: "e1", Pool: "default"}))
	first, err := q.Receive(ctx, 1, 0, time.Second)
	require.NoError(t, err)
	require.Len(t, first, 1)
	second, err := q.Receive(ctx, 1, 5*time.Second, time.Minute)
	require.NoError(t, err)
	require.Len(t, second, 1)

	require.NoError(t, q.Delete(ctx, first[0]), "a stale receipt's delete succeeds")
	visible, inFlight, err := q.Depth(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 1}, [2]int{visible, inFlight}, "and deletes nothing")
	require.ErrorIs(t, q.Extend(ctx, first[0], time.Minute), taskqueue.ErrNotInFlight)
	require.ErrorContains(t, q.Delete(ctx, taskqueue.Message{Receipt: "nonsense"}), "not one the in-memory queue gave")

	require.NoError(t, q.Delete(ctx, second[0]))
	require.NoError(t, q.Delete(ctx, second[0]), "deleting again is no error")
	require.ErrorIs(t, q.Release(ctx, second[0]), taskqueue.ErrNotInFlight)
}

func TestMemoryDeadLetters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q := taskqueue.NewMemory(taskqueue.MemoryOptions{MaxReceiveCount: 2})
	task := taskqueue.Task{ExecutionID: "e1", Pool: "default"}
	require.NoError(t, q.Send(ctx, task))
	for want := 1; want <= 2; want++ {
		msgs, err := q.Receive(ctx, 1, 0, time.Minute)
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		require.Equal(t, want, msgs[0].ReceiveCount)
		require.NoError(t, q.Release(ctx, msgs[0]))
	}
	msgs, err := q.Receive(ctx, 1, 0, time.Minute)
	require.NoError(t, err)
	require.Empty(t, msgs, "received MaxReceiveCount times: moved aside")
	dead := q.DeadLetters()
	require.Len(t, dead, 1)
	require.Equal(t, task, dead[0].Task)
	require.Equal(t, 2, dead[0].ReceiveCount)
}

func TestRoundUp(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]time.Duration{
		-time.Second: 0, 0: 0, time.Nanosecond: time.Second, time.Second: time.Second,
		1500 * time.Millisecond: 2 * time.Second, taskqueue.MaxDelay: taskqueue.MaxDelay,
	} {
		require.Equal(t, want, taskqueue.RoundUp(d), "RoundUp(%s)", d)
	}
}
