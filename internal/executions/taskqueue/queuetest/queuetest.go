package queuetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/taskqueue"
)

// settle is how long the suite waits for something that should happen
// promptly (a message to arrive, a depth figure to catch up): far more
// than it takes, so that a slow machine does not fail the suite.
const settle = 5 * time.Second

// long is a visibility timeout no case waits out.
const long = 60 * time.Second

// Run runs the conformance suite. newQueue returns an empty queue of the
// adapter under test for one case (each case runs in parallel with the
// others, on a queue of its own), and releases it with t.Cleanup.
func Run(t *testing.T, newQueue func(t *testing.T) taskqueue.Queue) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newQueue(t))
		})
	}
}

var cases = []struct {
	name string
	run  func(t *testing.T, q taskqueue.Queue)
}{
	{"SendReceiveDelete", sendReceiveDelete},
	{"WatchdogTask", watchdogTask},
	{"Delay", delay},
	{"VisibilityTimeoutRedelivers", visibilityTimeoutRedelivers},
	{"VisibilityTimeoutRoundsUp", visibilityTimeoutRoundsUp},
	{"Extend", extend},
	{"Release", release},
	{"DeleteAll", deleteAll},
	{"BatchLimit", batchLimit},
	{"Depth", depth},
	{"LongPollReturnsWhenAMessageArrives", longPollReturnsWhenAMessageArrives},
	{"LongPollReturnsEmptyAfterWait", longPollReturnsEmptyAfterWait},
	{"ReceiveHonoursContext", receiveHonoursContext},
	{"ConcurrentReceiversGetEachMessageOnce", concurrentReceivers},
}

func task(i int) taskqueue.Task {
	return taskqueue.Task{ExecutionID: fmt.Sprintf("exec-%03d", i), Pool: "default"}
}

// receiveOne waits up to settle for exactly one message.
func receiveOne(t *testing.T, q taskqueue.Queue, visibility time.Duration) taskqueue.Message {
	t.Helper()
	msgs, err := q.Receive(t.Context(), 1, settle, visibility)
	require.NoError(t, err)
	require.Len(t, msgs, 1, "a visible message is received within %s", settle)
	return msgs[0]
}

// requireEmpty checks that no message is visible now.
func requireEmpty(t *testing.T, q taskqueue.Queue, why string) {
	t.Helper()
	msgs, err := q.Receive(t.Context(), taskqueue.MaxReceive, 0, long)
	require.NoError(t, err)
	require.Empty(t, msgs, why)
}

// requireDepth waits up to settle for the depth figures (SQS's lag).
func requireDepth(t *testing.T, q taskqueue.Queue, visible, inFlight int) {
	t.Helper()
	var v, f int
	deadline := time.Now().Add(settle)
	for {
		var err error
		v, f, err = q.Depth(t.Context())
		require.NoError(t, err)
		if v == visible && f == inFlight || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, [2]int{visible, inFlight}, [2]int{v, f}, "depth (visible, in flight)")
}

func sendReceiveDelete(t *testing.T, q taskqueue.Queue) {
	ctx := t.Context()
	before := time.Now()
	require.NoError(t, q.Send(ctx, task(1)))
	m := receiveOne(t, q, long)
	require.Equal(t, task(1), m.Task)
	require.False(t, m.Watchdog())
	require.Equal(t, 1, m.ReceiveCount, "the first delivery counts 1")
	require.NotEmpty(t, m.Receipt)
	require.WithinRange(t, m.SentAt, before.Add(-time.Second), time.Now().Add(time.Second), "SentAt is when it was sent")
	requireEmpty(t, q, "a received message is invisible")
	requireDepth(t, q, 0, 1)

	require.NoError(t, q.Delete(ctx, m))
	requireDepth(t, q, 0, 0)
	requireEmpty(t, q, "a deleted message is gone")
}

func watchdogTask(t *testing.T, q taskqueue.Queue) {
	wd := taskqueue.Task{Pool: "default", Session: "session-1", WorkerID: "worker-1"}
	require.NoError(t, q.Send(t.Context(), wd))
	m := receiveOne(t, q, long)
	require.Equal(t, wd, m.Task)
	require.True(t, m.Watchdog())
	require.NoError(t, q.Delete(t.Context(), m))
}

func delay(t *testing.T, q taskqueue.Queue) {
	ctx := t.Context()
	sent := time.Now()
	require.NoError(t, q.SendAfter(ctx, task(1), 2*time.Second))
	requireEmpty(t, q, "a delayed message is not visible before its delay")
	requireDepth(t, q, 0, 0) // delayed: neither waiting nor in flight
	msgs, err := q.Receive(ctx, 1, settle, long)
	require.NoError(t, err)
	require.Len(t, msgs, 1, "a delayed message becomes visible after its delay")
	require.GreaterOrEqual(t, time.Since(sent), 1500*time.Millisecond, "not before its delay")
	require.Equal(t, task(1), msgs[0].Task)
	require.Equal(t, 1, msgs[0].ReceiveCount)

	// A fraction of a second counts as a whole one.
	sent = time.Now()
	require.NoError(t, q.SendAfter(ctx, task(2), 100*time.Millisecond))
	m := receiveOne(t, q, long)
	require.GreaterOrEqual(t, time.Since(sent), 500*time.Millisecond, "a 100ms delay is rounded up to a second")
	require.Equal(t, task(2), m.Task)
}

func visibilityTimeoutRedelivers(t *testing.T, q taskqueue.Queue) {
	ctx := t.Context()
	require.NoError(t, q.Send(ctx, task(1)))
	first := receiveOne(t, q, time.Second)
	received := time.Now()
	requireEmpty(t, q, "invisible during its visibility timeout")

	again := receiveOne(t, q, time.Second)
	require.GreaterOrEqual(t, time.Since(received), 700*time.Millisecond, "not back before its visibility timeout")
	require.Equal(t, task(1), again.Task)
	require.Equal(t, 2, again.ReceiveCount, "each delivery counts")
	require.NotEqual(t, first.Receipt, again.Receipt, "each delivery has its own receipt")
	require.Equal(t, first.SentAt, again.SentAt, "SentAt is the send's, not the delivery's")

	third := receiveOne(t, q, long)
	require.Equal(t, 3, third.ReceiveCount)
	require.NoError(t, q.Delete(ctx, third), "the latest receipt deletes")
	requireDepth(t, q, 0, 0)
	requireEmpty(t, q, "deleted with its latest receipt")
}

func visibilityTimeoutRoundsUp(t *testing.T, q taskqueue.Queue) {
	ctx := t.Context()
	require.NoError(t, q.Send(ctx, task(1)))
	receiveOne(t, q, 200*time.Millisecond)
	received := time.Now()
	again := receiveOne(t, q, long)
	require.GreaterOrEqual(t, time.Since(received), 700*time.Millisecond, "a 200ms visibility timeout is rounded up to a second")
	require.Equal(t, 2, again.ReceiveCount)
	require.NoError(t, q.Delete(ctx, again))
}

func extend(t *testing.T, q taskqueue.Queue) {
	ctx := t.Context()
	require.NoError(t, q.Send(ctx, task(1)))
	m := receiveOne(t, q, time.Second)
	require.NoError(t, q.Extend(ctx, m, 4*time.Second))
	msgs, err := q.Receive(ctx, 1, 2*time.Second, long)
	require.NoError(t, err)
	require.Empty(t, msgs, "extended beyond its first visibility timeout")
	requireDepth(t, q, 0, 1)

	again := receiveOne(t, q, long)
	require.Equal(t, 2, again.ReceiveCount, "back once the extension ran out")
	require.NoError(t, q.Delete(ctx, again))
}

func release(t *testing.T, q taskqueue.Queue) {
	ctx := t.Context()
	require.NoError(t, q.Send(ctx, task(1)))
	m := receiveOne(t, q, long)
	requireDepth(t, q, 0, 1)
	poll := pollInBackground(ctx, q)
	time.Sleep(500 * time.Millisecond) // the poll is waiting, most likely
	require.NoError(t, q.Release(ctx, m))
	again := poll.result(t, "the poll returns when a released message is visible again, not after its wait")
	require.Equal(t, task(1), again.Task)
	require.Equal(t, 2, again.ReceiveCount)
	require.NoError(t, q.Delete(ctx, again))
}

// poll is a long poll (20 s) for one message, running in the background.
type poll struct {
	start time.Time
	done  chan pollResult
}

type pollResult struct {
	msgs []taskqueue.Message
	err  error
	took time.Duration
}

func pollInBackground(ctx context.Context, q taskqueue.Queue) poll {
	p := poll{start: time.Now(), done: make(chan pollResult, 1)}
	go func() {
		msgs, err := q.Receive(ctx, 1, 20*time.Second, long)
		p.done <- pollResult{msgs, err, time.Since(p.start)}
	}()
	return p
}

// result waits for the poll's one message, which must come well before
// the poll's wait is over.
func (p poll) result(t *testing.T, why string) taskqueue.Message {
	t.Helper()
	select {
	case r := <-p.done:
		require.NoError(t, r.err)
		require.Len(t, r.msgs, 1, why)
		require.Less(t, r.took, 10*time.Second, why)
		return r.msgs[0]
	case <-time.After(25 * time.Second):
		t.Fatal("the long poll did not return")
		return taskqueue.Message{}
	}
}

// receiveAll receives n messages, failing on a batch larger than asked.
func receiveAll(t *testing.T, q taskqueue.Queue, n int) []taskqueue.Message {
	t.Helper()
	var got []taskqueue.Message
	deadline := time.Now().Add(3 * settle)
	for len(got) < n && time.Now().Before(deadline) {
		msgs, err := q.Receive(t.Context(), taskqueue.MaxReceive, time.Second, long)
		require.NoError(t, err)
		require.LessOrEqual(t, len(msgs), taskqueue.MaxReceive)
		got = append(got, msgs...)
	}
	require.Len(t, got, n, "every message sent is received")
	return got
}

func deleteAll(t *testing.T, q taskqueue.Queue) {
	ctx := t.Context()
	const n = 13 // more than one DeleteMessageBatch
	for i := range n {
		require.NoError(t, q.Send(ctx, task(i)))
	}
	got := receiveAll(t, q, n)
	var ids []string
	for _, m := range got {
		ids = append(ids, m.ExecutionID)
	}
	slices.Sort(ids)
	require.Len(t, slices.Compact(ids), n, "each message once")
	requireDepth(t, q, 0, n)
	require.NoError(t, q.DeleteAll(ctx, got))
	require.NoError(t, q.DeleteAll(ctx, nil), "nothing to delete is no error")
	requireDepth(t, q, 0, 0)
	requireEmpty(t, q, "all deleted")
}

func batchLimit(t *testing.T, q taskqueue.Queue) {
	ctx := t.Context()
	for i := range 3 {
		require.NoError(t, q.Send(ctx, task(i)))
	}
	requireDepth(t, q, 3, 0)
	msgs, err := q.Receive(ctx, 2, settle, long)
	require.NoError(t, err)
	require.NotEmpty(t, msgs)
	require.LessOrEqual(t, len(msgs), 2, "no more than asked for")
	rest := receiveAll(t, q, 3-len(msgs))
	require.NoError(t, q.DeleteAll(ctx, append(msgs, rest...)))
}

func depth(t *testing.T, q taskqueue.Queue) {
	ctx := t.Context()
	requireDepth(t, q, 0, 0)
	require.NoError(t, q.Send(ctx, task(1)))
	require.NoError(t, q.Send(ctx, task(2)))
	require.NoError(t, q.SendAfter(ctx, task(3), 10*time.Second))
	requireDepth(t, q, 2, 0)
	m := receiveOne(t, q, long)
	requireDepth(t, q, 1, 1)
	require.NoError(t, q.Release(ctx, m))
	requireDepth(t, q, 2, 0)
}

func longPollReturnsWhenAMessageArrives(t *testing.T, q taskqueue.Queue) {
	poll := pollInBackground(t.Context(), q)
	time.Sleep(500 * time.Millisecond) // the poll is waiting, most likely
	require.NoError(t, q.Send(t.Context(), task(1)))
	m := poll.result(t, "the poll returns when a message arrives, not after its wait")
	require.Equal(t, task(1), m.Task)
	require.NoError(t, q.Delete(t.Context(), m))
}

func longPollReturnsEmptyAfterWait(t *testing.T, q taskqueue.Queue) {
	start := time.Now()
	msgs, err := q.Receive(t.Context(), 1, 2*time.Second, long)
	took := time.Since(start)
	require.NoError(t, err)
	require.Empty(t, msgs)
	require.GreaterOrEqual(t, took, 1500*time.Millisecond, "a long poll waits")
	require.Less(t, took, 2*time.Second+settle, "and returns once its wait is over")

	start = time.Now()
	msgs, err = q.Receive(t.Context(), 1, 0, long)
	require.NoError(t, err)
	require.Empty(t, msgs)
	require.Less(t, time.Since(start), settle, "no wait: at once")
}

func receiveHonoursContext(t *testing.T, q taskqueue.Queue) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	msgs, err := q.Receive(ctx, 1, 20*time.Second, long)
	require.ErrorIs(t, err, context.Canceled, "a canceled poll reports it, with the context's error")
	require.Empty(t, msgs)
	require.Less(t, time.Since(start), 10*time.Second, "it stops when its context ends")

	_, err = q.Receive(ctx, 1, 0, long)
	require.ErrorIs(t, err, context.Canceled, "a context already done is refused")
}

func concurrentReceivers(t *testing.T, q taskqueue.Queue) {
	ctx := t.Context()
	const n, receivers = 20, 4
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	stop := make(chan struct{})
	for range receivers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				msgs, err := q.Receive(ctx, 3, time.Second, long)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					seen[m.ExecutionID]++
				}
				mu.Unlock()
				assert.NoError(t, q.DeleteAll(ctx, msgs))
			}
		})
	}
	for i := range n {
		require.NoError(t, q.Send(ctx, task(i)))
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n
	}, 3*settle, 50*time.Millisecond, "every message is received")
	close(stop)
	wg.Wait()
	for id, count := range seen {
		require.Equal(t, 1, count, "message %s is received once within its visibility timeout", id)
	}
	requireDepth(t, q, 0, 0)
}
