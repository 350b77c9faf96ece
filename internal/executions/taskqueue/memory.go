package taskqueue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultVisibility is how long Memory keeps a received message invisible
// when Receive is given no visibility: a pool queue's setting.
const DefaultVisibility = 60 * time.Second

// MemoryOptions tune a Memory queue.
type MemoryOptions struct {
	// Visibility is the queue's visibility timeout, for a Receive given
	// none; default DefaultVisibility.
	Visibility time.Duration
	// MaxReceiveCount, when above 0, moves a message to the dead letters
	// instead of delivering it once it has been received that many times,
	// as an SQS redrive policy does (a pool queue's is 5).
	MaxReceiveCount int
}

// Memory is a Queue in memory with SQS's semantics, for tests that need no
// stand-ins: delays and visibility timeouts (rounded up to whole seconds,
// as SQS does), redelivery with ReceiveCount one higher once a message's
// visibility runs out, receipts that go stale when a message is received
// again (a Delete with a stale receipt succeeds and deletes nothing, as on
// SQS), a long poll that returns as soon as a message is visible, and the
// depth figures, exact here. It differs from SQS where SQS is vague: it
// delivers the messages in the order they became visible, and Receive
// honours a wait below a second (SQS waits whole seconds).
//
// It is safe for concurrent use; receivers wait on a signal, not a loop.
type Memory struct {
	opts MemoryOptions

	mu      sync.Mutex
	msgs    map[int64]*memMessage
	nextID  int64
	changed chan struct{} // closed and replaced on every change a receiver waits for
	dead    []Message
}

// memMessage is a stored message.
type memMessage struct {
	id           int64
	seq          int64 // order of becoming visible: Send, then each Release or expiry
	task         Task
	sentAt       time.Time
	visibleAt    time.Time
	receiveCount int
}

var _ Queue = (*Memory)(nil)

// NewMemory returns an empty in-memory queue.
func NewMemory(o MemoryOptions) *Memory {
	if o.Visibility <= 0 {
		o.Visibility = DefaultVisibility
	}
	return &Memory{opts: o, msgs: map[int64]*memMessage{}, changed: make(chan struct{})}
}

// signal wakes the receivers waiting; mu must be held.
func (q *Memory) signal() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Send enqueues a task, visible at once.
func (q *Memory) Send(ctx context.Context, t Task) error { return q.SendAfter(ctx, t, 0) }

// SendAfter enqueues a task that becomes visible after delay (rounded up
// to whole seconds, at most MaxDelay).
func (q *Memory) SendAfter(ctx context.Context, t Task, delay time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("enqueue %s: %w", describe(t), err)
	}
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nextID++
	q.msgs[q.nextID] = &memMessage{
		id: q.nextID, seq: q.nextID, task: t, sentAt: now.Truncate(time.Millisecond),
		visibleAt: now.Add(RoundUp(min(delay, MaxDelay))),
	}
	q.signal()
	return nil
}

func describe(t Task) string {
	if t.Watchdog() {
		return "the watchdog of session " + t.Session
	}
	return "execution " + t.ExecutionID
}

// Receive waits up to wait for visible messages and returns up to n of
// them (1 to MaxReceive), invisible for visibility (rounded up to whole
// seconds; 0: the queue's). It returns ctx's error if ctx ends first.
func (q *Memory) Receive(ctx context.Context, n int, wait, visibility time.Duration) ([]Message, error) {
	n = min(max(n, 1), MaxReceive)
	if visibility <= 0 {
		visibility = q.opts.Visibility
	}
	visibility = RoundUp(visibility)
	deadline := time.Now().Add(max(wait, 0))
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("receive from the in-memory queue: %w", err)
		}
		now := time.Now()
		q.mu.Lock()
		msgs, next := q.take(now, n, visibility)
		changed := q.changed
		q.mu.Unlock()
		if len(msgs) > 0 || !now.Before(deadline) {
			return msgs, nil
		}
		until := deadline
		if !next.IsZero() && next.Before(until) {
			until = next
		}
		timer := time.NewTimer(until.Sub(now))
		select {
		case <-changed:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
	}
}

// take receives up to n visible messages; mu must be held. It also
// returns when the next invisible message becomes visible (zero: none).
func (q *Memory) take(now time.Time, n int, visibility time.Duration) ([]Message, time.Time) {
	var visible []*memMessage
	var next time.Time
	for _, m := range q.msgs {
		if !m.visibleAt.After(now) {
			visible = append(visible, m)
		} else if next.IsZero() || m.visibleAt.Before(next) {
			next = m.visibleAt
		}
	}
	// In the order they became visible: a message whose visibility ran
	// out is behind those released or sent before it expired.
	slices.SortFunc(visible, func(a, b *memMessage) int {
		return cmp.Or(a.visibleAt.Compare(b.visibleAt), cmp.Compare(a.seq, b.seq))
	})
	var out []Message
	for _, m := range visible {
		if len(out) == n {
			break
		}
		if q.opts.MaxReceiveCount > 0 && m.receiveCount >= q.opts.MaxReceiveCount {
			delete(q.msgs, m.id)
			q.dead = append(q.dead, m.message())
			continue
		}
		m.receiveCount++
		m.visibleAt = now.Add(visibility)
		out = append(out, m.message())
	}
	return out, next
}

func (m *memMessage) message() Message {
	return Message{Task: m.task, Receipt: receipt(m.id, m.receiveCount), ReceiveCount: m.receiveCount, SentAt: m.sentAt}
}

// A receipt names the message and its delivery: "mem:<id>:<receive count>".
func receipt(id int64, count int) string { return fmt.Sprintf("mem:%d:%d", id, count) }

func parseReceipt(r string) (id int64, count int, err error) {
	rest, ok := strings.CutPrefix(r, "mem:")
	a, b, ok2 := strings.Cut(rest, ":")
	id, err1 := strconv.ParseInt(a, 10, 64)
	count, err2 := strconv.Atoi(b)
	if !ok || !ok2 || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("receipt %q is not one the in-memory queue gave", r)
	}
	return id, count, nil
}

// ErrNotInFlight is returned by Extend and Release for a message that is
// not in flight under the receipt given: deleted, visible again, or
// received again since (its receipt is stale).
var ErrNotInFlight = errors.New("the message is not in flight under this receipt")

// Extend keeps a received message invisible for d (rounded up to whole
// seconds) from now; 0 makes it visible at once.
func (q *Memory) Extend(ctx context.Context, m Message, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("extend visibility of %s: %w", describe(m.Task), err)
	}
	id, count, err := parseReceipt(m.Receipt)
	if err != nil {
		return fmt.Errorf("extend visibility of %s: %w", describe(m.Task), err)
	}
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	stored, ok := q.msgs[id]
	if !ok || stored.receiveCount != count || !stored.visibleAt.After(now) {
		return fmt.Errorf("extend visibility of %s: %w", describe(m.Task), ErrNotInFlight)
	}
	stored.visibleAt = now.Add(RoundUp(d))
	if d <= 0 {
		q.nextID++
		stored.seq = q.nextID
		q.signal()
	}
	return nil
}

// Release makes a received message visible again at once.
func (q *Memory) Release(ctx context.Context, m Message) error { return q.Extend(ctx, m, 0) }

// Delete removes a message by its latest receipt; with a stale one (the
// message was received again since) it succeeds and deletes nothing, as
// SQS does, and a message already deleted is no error.
func (q *Memory) Delete(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete message of %s: %w", describe(m.Task), err)
	}
	id, count, err := parseReceipt(m.Receipt)
	if err != nil {
		return fmt.Errorf("delete message of %s: %w", describe(m.Task), err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if stored, ok := q.msgs[id]; ok && stored.receiveCount == count {
		delete(q.msgs, id)
	}
	return nil
}

// DeleteAll deletes each message, reporting those it could not.
func (q *Memory) DeleteAll(ctx context.Context, ms []Message) error {
	var errs []error
	for _, m := range ms {
		errs = append(errs, q.Delete(ctx, m))
	}
	return errors.Join(errs...)
}

// Depth reports the messages visible and those in flight (received, not
// deleted, their visibility not run out); delayed ones are in neither.
func (q *Memory) Depth(ctx context.Context) (visible, inFlight int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, fmt.Errorf("read depth of the in-memory queue: %w", err)
	}
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.msgs {
		switch {
		case !m.visibleAt.After(now):
			visible++
		case m.receiveCount > 0:
			inFlight++
		}
	}
	return visible, inFlight, nil
}

// DeadLetters returns the messages moved aside after MaxReceiveCount
// receives, oldest first.
func (q *Memory) DeadLetters() []Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.dead)
}
