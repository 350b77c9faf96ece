package taskqueue

import (
	"context"
	"time"
)

// Task is the body of one message: an execution to run, or a worker
// session to watch (a watchdog: ExecutionID empty, Session and WorkerID
// set). A session's watchdog comes back about when its lease would run
// out; the worker that receives it checks the session and, if it died,
// recovers the executions it held (see package worker).
type Task struct {
	ExecutionID string `json:"execution_id,omitempty"`
	Pool        string `json:"pool"`
	Session     string `json:"session,omitempty"`
	WorkerID    string `json:"worker_id,omitempty"`
}

// Watchdog reports whether t watches a session rather than runs an
// execution.
func (t Task) Watchdog() bool { return t.ExecutionID == "" && t.Session != "" }

// MaxDelay is the longest a new message can be held back (SQS's limit).
const MaxDelay = 15 * time.Minute

// MaxReceive is the most messages one Receive returns (SQS's limit).
const MaxReceive = 10

// Message is a received task.
type Message struct {
	Task
	// Receipt identifies this delivery: Extend, Release and Delete take it.
	Receipt string
	// ReceiveCount is how often the message was delivered, this time included.
	ReceiveCount int
	// SentAt is when the message was sent.
	SentAt time.Time
}

// Queue is one pool's work queue. Durations are rounded up to whole
// seconds, as SQS counts them.
type Queue interface {
	// Send enqueues a task, visible at once.
	Send(ctx context.Context, t Task) error
	// SendAfter enqueues a task that becomes visible after delay (at most
	// MaxDelay).
	SendAfter(ctx context.Context, t Task, delay time.Duration) error
	// Receive waits up to wait for visible messages and returns up to max
	// of them (at most MaxReceive), or none once wait has passed. They stay
	// invisible to other receivers for visibility (0: the queue's default).
	// A message whose body is not a task comes with an empty Task, for the
	// caller to delete.
	Receive(ctx context.Context, max int, wait, visibility time.Duration) ([]Message, error)
	// Extend keeps a received message invisible for d from now.
	Extend(ctx context.Context, m Message, d time.Duration) error
	// Release makes a received message visible again at once.
	Release(ctx context.Context, m Message) error
	// Delete removes a handled message.
	Delete(ctx context.Context, m Message) error
	// DeleteAll removes handled messages, reporting each one it could not.
	DeleteAll(ctx context.Context, ms []Message) error
	// Depth reports how many messages wait (visible, delayed ones not
	// counted) and how many are received and not yet deleted or visible
	// again (in flight). SQS's figures are approximate.
	Depth(ctx context.Context) (visible, inFlight int, err error)
}

// RoundUp rounds d up to whole seconds, as SQS counts delays and
// visibility timeouts.
func RoundUp(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1) / time.Second * time.Second
}
