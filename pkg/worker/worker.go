package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/queue"
)

// Store is where executions live.
type Store interface {
	Claim(ctx context.Context, id, workerID string, now, leaseUntil time.Time) (execution.Execution, error)
	Heartbeat(ctx context.Context, l execution.Lease, leaseUntil time.Time) error
	Finish(ctx context.Context, l execution.Lease, r execution.Result, now time.Time) (execution.Execution, error)
}

// Queue delivers execution ids.
type Queue interface {
	Receive(ctx context.Context, max int32, wait time.Duration) ([]queue.Message, error)
	Extend(ctx context.Context, m queue.Message, d time.Duration) error
	Release(ctx context.Context, m queue.Message) error
	Delete(ctx context.Context, m queue.Message) error
}

// Runner runs one execution to its result. It must return promptly once ctx
// is done.
type Runner interface {
	Run(ctx context.Context, e execution.Execution) execution.Result
}

// Config tunes a worker.
type Config struct {
	// ID names this worker in leases and logs; default host name and pid.
	ID string
	// Concurrency is how many executions run at once; default 1.
	Concurrency int
	// Lease is how long a claim holds without a heartbeat; default 60 s.
	// Heartbeats come every Lease/3.
	Lease time.Duration
	// PollWait is the long-poll wait; default 20 s. Stopping waits for the
	// poll in flight, so it takes up to PollWait.
	PollWait time.Duration
	// Grace is how long running executions may finish after Run's context
	// ends; default 30 s. Then they are cancelled.
	Grace  time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.ID == "" {
		host, _ := os.Hostname()
		c.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.Lease == 0 {
		c.Lease = 60 * time.Second
	}
	if c.PollWait == 0 {
		c.PollWait = 20 * time.Second
	}
	if c.Grace == 0 {
		c.Grace = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d: must be at least 1", c.Concurrency))
	}
	if c.Lease != 0 && c.Lease < 3*time.Second {
		errs = append(errs, fmt.Errorf("lease %s: must be at least 3s (heartbeats come every lease/3)", c.Lease))
	}
	if c.PollWait < 0 || c.PollWait > 20*time.Second {
		errs = append(errs, fmt.Errorf("poll wait %s: must be between 0 and 20s (the SQS long-poll limit)", c.PollWait))
	}
	return errors.Join(errs...)
}

// Worker runs executions from one queue.
type Worker struct {
	cfg    Config
	store  Store
	queue  Queue
	runner Runner
	log    *slog.Logger
}

// New returns a worker.
func New(store Store, q Queue, r Runner, cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("worker configuration: %w", err)
	}
	cfg.defaults()
	return &Worker{cfg: cfg, store: store, queue: q, runner: r, log: cfg.Logger.With("worker_id", cfg.ID)}, nil
}

// ID is the worker's id.
func (w *Worker) ID() string { return w.cfg.ID }

// Run takes work until ctx ends, then lets running executions finish for
// the grace period before it cancels them, and returns.
func (w *Worker) Run(ctx context.Context) error {
	// Executions run on a context that outlives ctx by the grace period.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(w.cfg.Grace, cancelRuns)
		context.AfterFunc(runCtx, func() { t.Stop() })
	})
	defer stop()

	w.log.InfoContext(ctx, "worker started", "concurrency", w.cfg.Concurrency)
	var wg sync.WaitGroup
	for range w.cfg.Concurrency {
		wg.Go(func() { w.loop(ctx, runCtx) })
	}
	wg.Wait()
	w.log.Info("worker stopped")
	return nil
}

func (w *Worker) loop(ctx, runCtx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		// The long poll is not cut short when ctx ends: SQS may already have
		// handed a message to it, which would then stay invisible for a whole
		// visibility timeout. It ends within PollWait; what it brings after
		// ctx ended is released at once for another worker.
		pollCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.PollWait+10*time.Second)
		msgs, err := w.queue.Receive(pollCtx, 1, w.cfg.PollWait)
		cancel()
		if ctx.Err() != nil {
			w.release(runCtx, msgs)
			return
		}
		if err != nil {
			w.log.WarnContext(ctx, "receive failed; retrying", "error", err, "backoff", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, m := range msgs {
			w.handle(runCtx, m)
		}
	}
}

// handle takes one message to its end. ctx is the run context.
func (w *Worker) handle(ctx context.Context, m queue.Message) {
	log := w.log.With("execution_id", m.ExecutionID, "receive_count", m.ReceiveCount)
	if m.ExecutionID == "" {
		log.WarnContext(ctx, "deleting a message that is not an execution task")
		w.delete(ctx, log, m)
		return
	}
	now := w.cfg.Now()
	e, err := w.store.Claim(ctx, m.ExecutionID, w.cfg.ID, now, now.Add(w.cfg.Lease))
	var conflict *execution.ConflictError
	switch {
	case errors.Is(err, execution.ErrNotFound):
		log.WarnContext(ctx, "no such execution; deleting its message")
		w.delete(ctx, log, m)
		return
	case errors.As(err, &conflict) && conflict.Current != nil && conflict.Current.Status.Final():
		log.InfoContext(ctx, "execution already ended; deleting duplicate message", "status", conflict.Current.Status)
		w.delete(ctx, log, m)
		return
	case errors.As(err, &conflict) && conflict.Current != nil && conflict.Current.LeaseUntil != nil:
		w.lookAgainLater(ctx, log, m, conflict.Current)
		return
	case err != nil:
		// The store failed: the message comes back after its visibility
		// timeout.
		log.WarnContext(ctx, "not claimed; leaving the message", "reason", err)
		return
	}
	lease := execution.LeaseOf(e)
	log = log.With("attempt", e.Attempt, "package", e.Ref())
	log.InfoContext(ctx, "execution started")

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeat(runCtx, log, lease, m, cancel)
	}()
	res := w.runner.Run(runCtx, e)
	if cause := context.Cause(runCtx); errors.Is(cause, execution.ErrLeaseLost) {
		cancel(nil)
		<-hbDone
		log.WarnContext(ctx, "lease lost while running; result dropped", "error", cause)
		if errors.As(cause, &conflict) && conflict.Current != nil && conflict.Current.LeaseUntil != nil {
			w.lookAgainLater(ctx, log, m, conflict.Current)
		}
		return
	}
	cancel(nil)
	<-hbDone
	if res.Status == "" || !res.Status.Final() {
		res.Status = execution.Failed
	}
	done, err := w.store.Finish(ctx, lease, res, w.cfg.Now())
	if err != nil {
		log.WarnContext(ctx, "could not record the result", "status", res.Status, "error", err)
		if !errors.Is(err, execution.ErrLeaseLost) {
			return // the message returns; a later attempt takes over
		}
	} else {
		log.InfoContext(ctx, "execution ended", "status", done.Status,
			"duration_ms", done.EndedAt.Sub(*done.StartedAt).Milliseconds())
	}
	w.delete(ctx, log, m)
}

// lookAgainLater leaves a message whose execution another attempt holds
// invisible until that attempt's lease would expire, so that a takeover, if
// one is needed, is not delayed by a whole visibility timeout.
func (w *Worker) lookAgainLater(ctx context.Context, log *slog.Logger, m queue.Message, holder *execution.Execution) {
	wait := max(holder.LeaseUntil.Sub(w.cfg.Now()), time.Second)
	log.InfoContext(ctx, "held by another attempt; looking again when its lease expires",
		"holder", holder.WorkerID, "holder_attempt", holder.Attempt, "in", wait)
	if err := w.queue.Extend(ctx, m, wait); err != nil {
		log.WarnContext(ctx, "could not set the message's visibility", "error", err)
	}
}

// heartbeat extends the lease and the message's visibility every Lease/3
// until ctx ends; on a lost lease it cancels the run.
func (w *Worker) heartbeat(ctx context.Context, log *slog.Logger, l execution.Lease, m queue.Message, cancel context.CancelCauseFunc) {
	t := time.NewTicker(w.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := w.store.Heartbeat(ctx, l, w.cfg.Now().Add(w.cfg.Lease))
		if errors.Is(err, execution.ErrLeaseLost) {
			cancel(err)
			return
		}
		if err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "heartbeat failed", "error", err)
		}
		if err := w.queue.Extend(ctx, m, w.cfg.Lease); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "could not extend message visibility", "error", err)
		}
	}
}

func (w *Worker) release(ctx context.Context, msgs []queue.Message) {
	for _, m := range msgs {
		if err := w.queue.Release(ctx, m); err != nil {
			w.log.WarnContext(ctx, "could not release a message on stop; it returns after its visibility timeout",
				"execution_id", m.ExecutionID, "error", err)
		}
	}
}

func (w *Worker) delete(ctx context.Context, log *slog.Logger, m queue.Message) {
	if err := w.queue.Delete(ctx, m); err != nil {
		log.WarnContext(ctx, "delete failed; the message will come back and be dropped then", "error", err)
	}
}
