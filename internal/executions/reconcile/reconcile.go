package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
)

// Store is where executions live (execstore.Store).
type Store interface {
	// ByStatus lists executions of one status created before
	// createdBefore, oldest first.
	ByStatus(ctx context.Context, status execution.Status, createdBefore time.Time, limit int) ([]execution.Execution, error)
	// MarkEnqueued records a re-enqueue of a pending execution unless it
	// changed since it was read.
	MarkEnqueued(ctx context.Context, e execution.Execution, now time.Time) error
	// Recover applies the lost-attempt rule, without running it, to an
	// attempt whose worker session has been dead since before deadSince (or
	// that a live session abandoned); otherwise a *execution.ConflictError.
	Recover(ctx context.Context, e execution.Execution, now, deadSince time.Time) (execution.Execution, error)
}

// Enqueuer sends a pool's execution tasks (a taskqueue.Queue).
type Enqueuer interface {
	Send(ctx context.Context, t taskqueue.Task) error
}

// Config tunes the reconciler.
type Config struct {
	// PendingAfter is how long an execution may wait pending, since it was
	// created or last enqueued (or its retry became due), before its
	// message counts as lost and is sent again; default 2 min. After each
	// re-enqueue of the same execution the wait doubles (at most 64 times).
	PendingAfter time.Duration
	// LostAfter is how long after its worker session's lease ran out a
	// running or stopping execution must still be held by the lost attempt
	// for the reconciler to act (until then the session's watchdog, or a
	// worker receiving its message, takes it over); default 60 s (the
	// default lease).
	LostAfter time.Duration
	// Limit caps the executions looked at per status and pass; default 1000.
	Limit  int
	Now    func() time.Time
	Logger *slog.Logger
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.PendingAfter < 0 {
		errs = append(errs, fmt.Errorf("pending after %s: must not be negative", c.PendingAfter))
	}
	if c.LostAfter < 0 {
		errs = append(errs, fmt.Errorf("lost after %s: must not be negative", c.LostAfter))
	}
	if c.Limit < 0 {
		errs = append(errs, fmt.Errorf("limit %d: must not be negative", c.Limit))
	}
	return errors.Join(errs...)
}

// Reconciler runs reconcile passes.
type Reconciler struct {
	store  Store
	queues map[string]Enqueuer
	cfg    Config
	log    *slog.Logger
}

// New returns a reconciler for the executions of the pools in queues;
// executions of other pools are left alone.
func New(store Store, queues map[string]Enqueuer, cfg Config) (*Reconciler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("reconciler configuration: %w", err)
	}
	if cfg.PendingAfter == 0 {
		cfg.PendingAfter = 2 * time.Minute
	}
	if cfg.LostAfter == 0 {
		cfg.LostAfter = 60 * time.Second
	}
	if cfg.Limit == 0 {
		cfg.Limit = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{store: store, queues: queues, cfg: cfg, log: cfg.Logger}, nil
}

// Report counts what one pass did.
type Report struct {
	// Requeued: pending executions whose message was sent again.
	Requeued int `json:"requeued"`
	// Recovered: lost attempts moved back to pending and enqueued again.
	Recovered int `json:"recovered"`
	// Ended: lost attempts with no retries left (ended_unexpectedly) or
	// being stopped (canceled).
	Ended int `json:"ended"`
	// Skipped: executions that changed under the pass (a worker or another
	// reconciler moved them), or whose worker session is alive or died
	// less than LostAfter ago. Executions of pools this reconciler has no
	// queue for are not counted.
	Skipped int `json:"skipped"`
	// Failed: executions the pass could not fix (see the error); the next
	// pass tries again.
	Failed int `json:"failed"`
}

// Pass runs one round. Errors on single executions are counted, logged
// and joined into the returned error; the pass goes on with the others.
func (r *Reconciler) Pass(ctx context.Context) (Report, error) {
	var rep Report
	var errs []error
	now := r.cfg.Now()

	pending, err := r.store.ByStatus(ctx, execution.Pending, now.Add(-r.cfg.PendingAfter), r.cfg.Limit)
	if err != nil {
		errs = append(errs, err)
	}
	for _, e := range pending {
		if err := r.requeue(ctx, e, now, &rep); err != nil {
			rep.Failed++
			errs = append(errs, err)
		}
	}
	for _, st := range []execution.Status{execution.Running, execution.Stopping} {
		lost, err := r.store.ByStatus(ctx, st, now, r.cfg.Limit)
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range lost {
			if err := r.recover(ctx, e, now, &rep); err != nil {
				rep.Failed++
				errs = append(errs, err)
			}
		}
	}
	level := slog.LevelDebug
	if rep != (Report{}) {
		level = slog.LevelInfo
	}
	r.log.Log(ctx, level, "reconcile pass", "requeued", rep.Requeued, "recovered", rep.Recovered,
		"ended", rep.Ended, "skipped", rep.Skipped, "failed", rep.Failed)
	return rep, errors.Join(errs...)
}

// requeue sends a long-pending execution's message again.
func (r *Reconciler) requeue(ctx context.Context, e execution.Execution, now time.Time, rep *Report) error {
	q, ok := r.queues[e.Pool]
	if !ok {
		return nil
	}
	// Waiting since it was last enqueued, or its retry became due.
	since := e.CreatedAt
	for _, t := range []*time.Time{e.EnqueuedAt, e.NotBefore} {
		if t != nil && t.After(since) {
			since = *t
		}
	}
	// Each re-enqueue doubles the wait before the next (up to 64 times
	// PendingAfter): a message may only be waiting behind a long backlog,
	// which must not fill up with copies.
	if now.Sub(since) < r.cfg.PendingAfter<<min(e.Requeues, 6) {
		return nil
	}
	log := r.log.With("execution_id", e.ID, "pool", e.Pool)
	if err := r.store.MarkEnqueued(ctx, e, now); err != nil {
		var ce *execution.ConflictError
		if errors.As(err, &ce) {
			rep.Skipped++
			return nil
		}
		return fmt.Errorf("re-enqueue execution %s: %w", e.ID, err)
	}
	if err := q.Send(ctx, taskqueue.Task{ExecutionID: e.ID, Pool: e.Pool}); err != nil {
		// Recorded as enqueued (and counted) but not sent: a pass
		// after the doubled wait sends it.
		return fmt.Errorf("re-enqueue execution %s: %w", e.ID, err)
	}
	log.InfoContext(ctx, "pending execution enqueued again", "pending_since", since)
	rep.Requeued++
	return nil
}

// recover applies the lost-attempt rule to an attempt lost long ago.
func (r *Reconciler) recover(ctx context.Context, e execution.Execution, now time.Time, rep *Report) error {
	q, ok := r.queues[e.Pool]
	if !ok {
		return nil
	}
	log := r.log.With("execution_id", e.ID, "pool", e.Pool, "worker_id", e.WorkerID, "attempt", e.Attempt)
	got, err := r.store.Recover(ctx, e, now, now.Add(-r.cfg.LostAfter))
	if err != nil {
		var ce *execution.ConflictError
		if errors.As(err, &ce) {
			rep.Skipped++
			return nil
		}
		return fmt.Errorf("recover execution %s: %w", e.ID, err)
	}
	if got.Status.Final() {
		log.InfoContext(ctx, "lost attempt ended the execution", "status", got.Status, "reason", got.Error)
		rep.Ended++
		return nil
	}
	if err := q.Send(ctx, taskqueue.Task{ExecutionID: e.ID, Pool: e.Pool}); err != nil {
		// Pending with enqueued_at now: a later pass sends it again.
		return fmt.Errorf("enqueue recovered execution %s: %w", e.ID, err)
	}
	log.InfoContext(ctx, "lost attempt recorded; execution enqueued for another attempt")
	rep.Recovered++
	return nil
}

// Run runs a pass at once and then every interval (default 30 s) until
// ctx ends.
func (r *Reconciler) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.log.WarnContext(ctx, "reconcile pass had errors", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
