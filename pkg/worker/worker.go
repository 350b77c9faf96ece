package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/queue"
	"github.com/scaleout/scaleout/pkg/workers"
)

// StopCheck is the longest a stop request waits to reach a running
// execution's worker: heartbeats come at least this often.
const StopCheck = 2 * time.Second

// errExecutionTimeout is the cause of a run that outlived its execution's
// timeout.
var errExecutionTimeout = errors.New("execution timeout")

// ErrStopRequested is the cause of a run canceled by a stop request.
var ErrStopRequested = errors.New("stop requested")

// errDrained is the cause of a run still going when the worker's grace
// period after stopping ran out: the run is handed back, not failed.
var errDrained = errors.New("worker stopping: grace period over")

// finishTimeout bounds the writes that record how a run ended; they run
// even when the worker is stopping.
const finishTimeout = 30 * time.Second

// Store is where executions live.
type Store interface {
	Claim(ctx context.Context, id, workerID string, now, leaseUntil time.Time) (execution.Execution, error)
	// Heartbeat extends the lease and answers the execution's status, so
	// that a stop request (stopping) reaches the worker.
	Heartbeat(ctx context.Context, l execution.Lease, leaseUntil time.Time) (execution.Status, error)
	Finish(ctx context.Context, l execution.Lease, r execution.Result, now time.Time) (execution.Execution, error)
	// Retry ends a failed attempt that leaves a retry: the execution is
	// pending again, claimable from notBefore.
	Retry(ctx context.Context, l execution.Lease, rec execution.AttemptRecord, notBefore time.Time) (execution.Execution, error)
	// Release hands a running attempt back (a draining worker): pending
	// again at once, not counted against retries.
	Release(ctx context.Context, l execution.Lease, rec execution.AttemptRecord) (execution.Execution, error)
}

// Queue delivers execution ids.
type Queue interface {
	Send(ctx context.Context, t queue.Task) error
	Receive(ctx context.Context, max int32, wait, visibility time.Duration) ([]queue.Message, error)
	Extend(ctx context.Context, m queue.Message, d time.Duration) error
	Release(ctx context.Context, m queue.Message) error
	Delete(ctx context.Context, m queue.Message) error
}

// Runner runs one execution to its result. It must return promptly once ctx
// is done.
type Runner interface {
	Run(ctx context.Context, e execution.Execution) execution.Result
}

// Registry is where a worker registers and heartbeats (package workers'
// Store). Heartbeat answers whether the worker is enabled, or
// workers.ErrNotFound once it was removed.
type Registry interface {
	Register(ctx context.Context, r workers.Registration) (workers.Worker, error)
	Heartbeat(ctx context.Context, id string, running int) (enabled bool, err error)
}

// Sampler measures the machine's load (workers.ProcSampler). It is called
// every SampleInterval; an unknown value does not hold the worker back.
type Sampler interface {
	Sample() (workers.Usage, error)
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
	// ends; default 30 s. Then they are cancelled and released: pending
	// again, their messages visible at once, for another worker (a release
	// does not count against the execution's retries).
	Grace time.Duration
	// RetryBackoff is the wait before an execution whose package failed
	// runs again: RetryBackoff·2^(n-1) before retry n, at most
	// RetryBackoffMax. Defaults 5 s and 5 min.
	RetryBackoff, RetryBackoffMax time.Duration
	// MaxReceives is the queue's maxReceiveCount (messages received more
	// often go to the dead-letter queue). A message that reached it is
	// replaced by a fresh one when its execution goes back to the queue.
	// 0: never replaced.
	MaxReceives int
	Now         func() time.Time
	Logger      *slog.Logger

	// Registry, when set, is where the worker registers on Run and
	// heartbeats every HeartbeatInterval with the number of executions it
	// runs. While it is not registered, disabled or removed it takes no new
	// work; running executions finish. A removed worker stays idle until it
	// restarts. Nil: no registry, the worker always takes work.
	Registry Registry
	// HeartbeatInterval: default 5 s.
	HeartbeatInterval time.Duration
	// Machine, Pools, Tags and Version describe the worker in its
	// registration (Machine defaults to the host name; Tags apply only to a
	// first registration).
	Machine string
	Pools   []string
	Tags    map[string]string
	Version string

	// Sampler, when set, holds new work back while CPU use is over MaxCPU
	// percent (default 70) or free memory under MinFreeMemory bytes
	// (default 100 MiB; negative: no floor). Nil: no capacity check.
	Sampler        Sampler
	MaxCPU         float64
	MinFreeMemory  int64
	SampleInterval time.Duration // default 1 s
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
	if c.RetryBackoff == 0 {
		c.RetryBackoff = 5 * time.Second
	}
	if c.RetryBackoffMax == 0 {
		c.RetryBackoffMax = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = workers.DefaultHeartbeat
	}
	if c.Machine == "" {
		c.Machine, _ = os.Hostname()
	}
	if c.MaxCPU == 0 {
		c.MaxCPU = workers.DefaultMaxCPU
	}
	if c.MinFreeMemory == 0 {
		c.MinFreeMemory = workers.DefaultMinFreeMemory
	}
	if c.SampleInterval == 0 {
		c.SampleInterval = time.Second
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
	if c.RetryBackoff < 0 || c.RetryBackoffMax < 0 {
		errs = append(errs, fmt.Errorf("retry backoff %s (max %s): must not be negative", c.RetryBackoff, c.RetryBackoffMax))
	}
	if c.HeartbeatInterval < 0 {
		errs = append(errs, fmt.Errorf("heartbeat interval %s: must be positive", c.HeartbeatInterval))
	}
	if c.MaxCPU < 0 || c.MaxCPU > 100 {
		errs = append(errs, fmt.Errorf("max CPU %g%%: must be between 0 and 100", c.MaxCPU))
	}
	if c.SampleInterval < 0 {
		errs = append(errs, fmt.Errorf("sample interval %s: must be positive", c.SampleInterval))
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

	gate            gate
	running         atomic.Int64
	sampleErrLogged bool
}

// New returns a worker.
func New(store Store, q Queue, r Runner, cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("worker configuration: %w", err)
	}
	cfg.defaults()
	if cfg.Registry != nil {
		r := workers.Registration{ID: cfg.ID, Machine: cfg.Machine, Pools: cfg.Pools, MaxTasks: cfg.Concurrency,
			Version: cfg.Version, Tags: cfg.Tags}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("worker registration: %w", err)
		}
	}
	w := &Worker{cfg: cfg, store: store, queue: q, runner: r, log: cfg.Logger.With("worker_id", cfg.ID)}
	w.gate.unregistered = cfg.Registry != nil
	return w, nil
}

// ID is the worker's id.
func (w *Worker) ID() string { return w.cfg.ID }

// Run takes work until ctx ends, then lets running executions finish for
// the grace period before it cancels and releases them, and returns.
func (w *Worker) Run(ctx context.Context) error {
	// Executions run on a context that outlives ctx by the grace period.
	runCtx, cancelRuns := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelRuns(nil)
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(w.cfg.Grace, func() { cancelRuns(errDrained) })
		context.AfterFunc(runCtx, func() { t.Stop() })
	})
	defer stop()

	w.log.InfoContext(ctx, "worker started", "concurrency", w.cfg.Concurrency)
	var wg sync.WaitGroup
	// The first registration and capacity reading come before the first
	// receive, so a disabled or busy worker takes nothing meanwhile.
	if w.cfg.Registry != nil {
		w.register(ctx)
		wg.Go(func() { w.heartbeatRegistry(ctx) })
	}
	if w.cfg.Sampler != nil {
		w.sample()
		wg.Go(func() { w.watchCapacity(ctx) })
	}
	var loops sync.WaitGroup
	for range w.cfg.Concurrency {
		loops.Go(func() { w.loop(ctx, runCtx) })
	}
	loops.Wait()
	wg.Wait()
	if w.cfg.Registry != nil && !w.gate.isRemoved() {
		// Sign off: the manager shows the worker offline at once. A
		// registry that cannot sign off gets a last heartbeat saying
		// nothing runs any more.
		hbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		var err error
		if so, ok := w.cfg.Registry.(interface {
			SignOff(ctx context.Context, id string) error
		}); ok {
			err = so.SignOff(hbCtx, w.cfg.ID)
		} else {
			_, err = w.cfg.Registry.Heartbeat(hbCtx, w.cfg.ID, 0)
		}
		if err != nil {
			w.log.Warn("sign-off failed", "error", err)
		}
		cancel()
	}
	w.log.Info("worker stopped")
	return nil
}

// Accepting reports whether the worker takes new work now: registered (if
// it has a registry), enabled, not removed and under its capacity limits.
func (w *Worker) Accepting() bool { return w.gate.reason() == "" }

// register registers the worker, retrying until it succeeds or ctx ends.
func (w *Worker) register(ctx context.Context) bool {
	backoff := 100 * time.Millisecond
	for {
		rec, err := w.cfg.Registry.Register(ctx, workers.Registration{
			ID: w.cfg.ID, Machine: w.cfg.Machine, Pools: w.cfg.Pools, MaxTasks: w.cfg.Concurrency,
			Version: w.cfg.Version, Tags: w.cfg.Tags,
		})
		if err == nil {
			w.log.InfoContext(ctx, "worker registered", "enabled", rec.Enabled)
			w.gate.set(w.log, func(g *gate) { g.unregistered, g.disabled = false, !rec.Enabled })
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		w.log.WarnContext(ctx, "registration failed; retrying", "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, w.cfg.HeartbeatInterval)
	}
}

// heartbeatRegistry tells the registry every HeartbeatInterval that the
// worker is alive and how much it runs, and learns whether it may take
// work. It ends with ctx, or when the worker was removed.
func (w *Worker) heartbeatRegistry(ctx context.Context) {
	if w.gate.isUnregistered() && !w.register(ctx) {
		return
	}
	t := time.NewTicker(w.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		enabled, err := w.cfg.Registry.Heartbeat(ctx, w.cfg.ID, int(w.running.Load()))
		switch {
		case errors.Is(err, workers.ErrNotFound):
			w.gate.set(w.log, func(g *gate) { g.removed = true })
			return
		case err != nil:
			if ctx.Err() == nil {
				// Keep the last known state: the store is the same
				// DynamoDB the executions need anyway.
				w.log.WarnContext(ctx, "registry heartbeat failed", "error", err)
			}
		default:
			w.gate.set(w.log, func(g *gate) { g.disabled = !enabled })
		}
	}
}

// watchCapacity samples the machine's load every SampleInterval.
func (w *Worker) watchCapacity(ctx context.Context) {
	t := time.NewTicker(w.cfg.SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.sample()
		}
	}
}

func (w *Worker) sample() {
	u, err := w.cfg.Sampler.Sample()
	if err != nil && !w.sampleErrLogged {
		w.sampleErrLogged = true // only one goroutine at a time samples
		w.log.Warn("cannot measure the machine's load; unknown values do not hold work back", "error", err)
	}
	cpu := u.CPUKnown && u.CPUPercent > w.cfg.MaxCPU
	mem := u.MemoryKnown && w.cfg.MinFreeMemory > 0 && u.FreeMemory < uint64(w.cfg.MinFreeMemory)
	before := w.gate.reason()
	w.gate.set(nil, func(g *gate) { g.cpuBusy, g.memoryLow = cpu, mem })
	if after := w.gate.reason(); after != before {
		logGate(w.log, before, after, "cpu_percent", u.CPUPercent, "max_cpu_percent", w.cfg.MaxCPU,
			"free_memory_mb", u.FreeMemory>>20, "min_free_memory_mb", w.cfg.MinFreeMemory>>20)
	}
}

func logGate(log *slog.Logger, before, after string, args ...any) {
	switch {
	case after == "":
		log.Info("taking new work again", append([]any{"was", before}, args...)...)
	case before == "":
		log.Info("holding back new work", append([]any{"reason", after}, args...)...)
	default:
		log.Info("still holding back new work", append([]any{"reason", after, "was", before}, args...)...)
	}
}

// gate holds the receive loops back while the worker may not take work.
type gate struct {
	mu                                                  sync.Mutex
	changed                                             chan struct{}
	unregistered, disabled, removed, cpuBusy, memoryLow bool
}

// reason says why the worker holds back; "" when it takes work.
func (g *gate) reason() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reasonLocked()
}

func (g *gate) reasonLocked() string {
	switch {
	case g.removed:
		return "removed from the registry; restart the worker to register it again"
	case g.unregistered:
		return "not registered yet"
	case g.disabled:
		return "disabled"
	case g.cpuBusy:
		return "cpu busy"
	case g.memoryLow:
		return "memory low"
	}
	return ""
}

func (g *gate) isRemoved() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.removed
}

func (g *gate) isUnregistered() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.unregistered
}

// set changes the state, wakes the waiting loops when it opens or closes
// and, with a logger, logs the change.
func (g *gate) set(log *slog.Logger, f func(*gate)) {
	g.mu.Lock()
	before := g.reasonLocked()
	f(g)
	after := g.reasonLocked()
	if (before == "") != (after == "") && g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
	g.mu.Unlock()
	if log != nil && before != after {
		logGate(log, before, after)
	}
}

// wait blocks until the worker may take work; false when ctx ended.
func (g *gate) wait(ctx context.Context) bool {
	for {
		g.mu.Lock()
		if g.reasonLocked() == "" {
			g.mu.Unlock()
			return true
		}
		if g.changed == nil {
			g.changed = make(chan struct{})
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
		case <-ch:
		}
	}
}

func (w *Worker) loop(ctx, runCtx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if !w.gate.wait(ctx) {
			return
		}
		// The long poll is not cut short when ctx ends: SQS may already have
		// handed a message to it, which would then stay invisible for a whole
		// visibility timeout. It ends within PollWait; what it brings after
		// ctx ended is released at once for another worker.
		pollCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.PollWait+10*time.Second)
		// The message stays invisible as long as the lease the claim
		// takes: if this worker dies before its first heartbeat, the
		// message is back when another worker may take the execution over.
		msgs, err := w.queue.Receive(pollCtx, 1, w.cfg.PollWait, w.cfg.Lease)
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
		if !w.Accepting() {
			// Held back during the poll: the message goes to another worker.
			w.release(runCtx, msgs)
			continue
		}
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
	case errors.As(err, &conflict) && conflict.Current != nil && conflict.Current.Status == execution.Pending &&
		conflict.Current.NotBefore != nil:
		wait := max(conflict.Current.NotBefore.Sub(w.cfg.Now()), time.Second)
		log.InfoContext(ctx, "retry backoff not over; looking again then", "in", wait)
		if err := w.queue.Extend(ctx, m, roundUp(wait)); err != nil {
			log.WarnContext(ctx, "could not set the message's visibility", "error", err)
		}
		return
	case err != nil:
		// The store failed: the message comes back after its visibility
		// timeout.
		log.WarnContext(ctx, "not claimed; leaving the message", "reason", err)
		return
	}
	lease := execution.LeaseOf(e)
	w.running.Add(1)
	defer w.running.Add(-1)
	log = log.With("attempt", e.Attempt, "package", e.Ref())
	if len(e.Attempts) > 0 {
		last := e.Attempts[len(e.Attempts)-1]
		log = log.With("previous_outcome", last.Outcome)
	}
	log.InfoContext(ctx, "execution started")

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeat(runCtx, log, lease, *e.LeaseUntil, m, cancel)
	}()
	runFor := runCtx
	if e.TimeoutMS > 0 {
		var stopTimer context.CancelFunc
		runFor, stopTimer = context.WithTimeoutCause(runCtx, time.Duration(e.TimeoutMS)*time.Millisecond, errExecutionTimeout)
		defer stopTimer()
	}
	res := w.runner.Run(runFor, e)
	if errors.Is(context.Cause(runFor), errExecutionTimeout) && runCtx.Err() == nil {
		res.Status = execution.Failed
		res.Error = fmt.Sprintf("execution timeout after %s", time.Duration(e.TimeoutMS)*time.Millisecond)
	}
	drained := errors.Is(context.Cause(runCtx), errDrained)
	// What follows records the end even while the worker stops.
	ctx, cancelEnd := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancelEnd()
	if cause := context.Cause(runCtx); errors.Is(cause, execution.ErrLeaseLost) {
		cancel(nil)
		<-hbDone
		log.WarnContext(ctx, "lease lost while running; result dropped", "error", cause)
		if errors.As(cause, &conflict) && conflict.Current != nil && conflict.Current.LeaseUntil != nil {
			w.lookAgainLater(ctx, log, m, conflict.Current)
		}
		return
	}
	stopped := errors.Is(context.Cause(runCtx), ErrStopRequested)
	cancel(nil)
	<-hbDone
	if res.Status == "" || !res.Status.Final() {
		res.Status = execution.Failed
	}
	if stopped {
		res.Status, res.Error = execution.Canceled, "stopped by request"
	}
	switch {
	case drained && !stopped && res.Status != execution.Succeeded:
		if w.handBack(ctx, log, m, e, res, true) {
			return
		}
		res.Status, res.Error = execution.Canceled, "stopped by request"
	case res.Status == execution.Failed && !stopped && e.CanRetry():
		if w.handBack(ctx, log, m, e, res, false) {
			return
		}
		res.Status, res.Error = execution.Canceled, "stopped by request"
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

// handBack ends the attempt e without ending the execution: released (a
// draining worker) or failed with a retry left, after a backoff. It
// reports whether the message was dealt with; false means the execution
// is being stopped and the caller must finish it canceled.
func (w *Worker) handBack(ctx context.Context, log *slog.Logger, m queue.Message, e execution.Execution, res execution.Result, release bool) bool {
	lease := execution.LeaseOf(e)
	now := w.cfg.Now()
	rec := execution.AttemptRecord{EndedAt: now, Reason: reason(res)}
	if e.StartedAt != nil {
		rec.StartedAt = *e.StartedAt
	}
	var (
		err   error
		delay time.Duration
	)
	if release {
		rec.Reason = fmt.Sprintf("worker %s stopped before attempt %d ended; released for another worker", w.cfg.ID, e.Attempt)
		_, err = w.store.Release(ctx, lease, rec)
	} else {
		delay = execution.Backoff(w.cfg.RetryBackoff, w.cfg.RetryBackoffMax, e.CountedAttempts())
		_, err = w.store.Retry(ctx, lease, rec, now.Add(delay))
	}
	var conflict *execution.ConflictError
	switch {
	case errors.As(err, &conflict) && conflict.Current != nil && conflict.Current.Status == execution.Stopping &&
		execution.LeaseOf(*conflict.Current) == lease:
		return false
	case errors.Is(err, execution.ErrLeaseLost):
		log.WarnContext(ctx, "lease lost before the attempt was handed back", "error", err)
		if conflict != nil && conflict.Current != nil && conflict.Current.LeaseUntil != nil {
			w.lookAgainLater(ctx, log, m, conflict.Current)
		} else {
			w.delete(ctx, log, m)
		}
		return true
	case err != nil:
		log.WarnContext(ctx, "could not hand the attempt back; the message returns after its visibility timeout", "error", err)
		return true
	}
	if release {
		log.InfoContext(ctx, "execution released for another worker")
	} else {
		log.InfoContext(ctx, "attempt failed; retrying after a backoff", "error", rec.Reason, "backoff", delay,
			"attempts_counted", e.CountedAttempts(), "retries", e.Retries)
	}
	w.requeue(ctx, log, m, roundUp(delay))
	return true
}

// reason says why an attempt failed.
func reason(res execution.Result) string {
	if res.Error != "" {
		return res.Error
	}
	for _, t := range res.Tasks {
		if t.Error != "" {
			return fmt.Sprintf("task %s: %s", t.Path, t.Error)
		}
	}
	return "package " + string(res.Status)
}

// roundUp rounds d up to whole seconds (message visibility's unit).
func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

// requeue makes m's execution due again after delay by changing the
// message's visibility (one call, no new message). A message that reached
// MaxReceives would go to the dead-letter queue at its next receive, so it
// is replaced by a fresh one (visible at once: the claim's backoff check
// holds the execution back until it is due).
func (w *Worker) requeue(ctx context.Context, log *slog.Logger, m queue.Message, delay time.Duration) {
	if w.cfg.MaxReceives > 0 && m.ReceiveCount >= w.cfg.MaxReceives {
		err := w.queue.Send(ctx, m.Task)
		if err == nil {
			w.delete(ctx, log, m)
			return
		}
		log.WarnContext(ctx, "could not replace a much-received message; keeping it", "error", err)
	}
	if err := w.queue.Extend(ctx, m, delay); err != nil {
		log.WarnContext(ctx, "could not set the message's visibility; it returns after its visibility timeout", "error", err)
	}
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
//
// A worker that could not renew its lease stops the run itself just before
// the lease expires (leaseMargin early): from then on another worker may take
// the execution over, and two attempts must never run at once.
func (w *Worker) heartbeat(ctx context.Context, log *slog.Logger, l execution.Lease, held time.Time, m queue.Message, cancel context.CancelCauseFunc) {
	margin := min(w.cfg.Lease/10, time.Second)
	expire := func() {
		log.WarnContext(ctx, "lease about to expire without a successful heartbeat; stopping the run")
		cancel(execution.LeaseLost{ConflictError: &execution.ConflictError{ID: l.ID,
			Want: fmt.Sprintf("renewed by worker %q attempt %d before its lease expired", l.WorkerID, l.Attempt)}})
	}
	timer := time.AfterFunc(held.Sub(w.cfg.Now())-margin, expire)
	defer timer.Stop()
	t := time.NewTicker(min(w.cfg.Lease/3, StopCheck))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		until := w.cfg.Now().Add(w.cfg.Lease)
		status, err := w.store.Heartbeat(ctx, l, until)
		if errors.Is(err, execution.ErrLeaseLost) {
			cancel(err)
			return
		}
		if err == nil && timer.Stop() {
			// Renewed before the timer fired: it now guards the new lease.
			held = until
			timer.Reset(held.Sub(w.cfg.Now()) - margin)
		}
		if err == nil && status == execution.Stopping {
			log.InfoContext(ctx, "stop requested; canceling the run")
			cancel(ErrStopRequested)
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
