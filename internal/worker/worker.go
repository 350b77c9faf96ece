package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/wait"
	"github.com/scaleout/scaleout/internal/worker/registry"
	"github.com/scaleout/scaleout/scaleouttype"
)

// StopCheck is how often a worker reads its signals (stop requests,
// enabled): one eventually consistent read of a few attributes of its
// registry item, which writes nothing, so a stop request reaches a running
// execution within StopCheck plus the read's replication lag (within 5 s),
// for half a read unit per worker, not per execution.
const StopCheck = 4 * time.Second

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
	// Claim starts a new attempt under sess: a pending execution, or one
	// whose holding session is dead (a takeover).
	Claim(ctx context.Context, id string, sess registry.Session, now time.Time) (execution.Execution, error)
	Finish(ctx context.Context, l execution.Lease, r execution.Result, now time.Time) (execution.Execution, error)
	// Retry ends a failed attempt that leaves a retry: the execution is
	// pending again, claimable from notBefore.
	Retry(ctx context.Context, l execution.Lease, rec execution.AttemptRecord, notBefore time.Time) (execution.Execution, error)
	// Release hands a running attempt back (a draining worker): pending
	// again at once, not counted against retries.
	Release(ctx context.Context, l execution.Lease, rec execution.AttemptRecord) (execution.Execution, error)
	// Reap recovers a run the dead session st recorded: pending again
	// (reported true; the caller sends its message) or ended by its
	// lost-attempt budget, unless it moved on since.
	Reap(ctx context.Context, st registry.SessionState, run registry.Run, now time.Time) (execution.Execution, bool, error)
}

// Queue delivers execution ids and session watchdogs.
type Queue interface {
	Send(ctx context.Context, t taskqueue.Task) error
	SendAfter(ctx context.Context, t taskqueue.Task, delay time.Duration) error
	Receive(ctx context.Context, max int, wait, visibility time.Duration) ([]taskqueue.Message, error)
	Extend(ctx context.Context, m taskqueue.Message, d time.Duration) error
	Release(ctx context.Context, m taskqueue.Message) error
	Delete(ctx context.Context, m taskqueue.Message) error
	DeleteAll(ctx context.Context, ms []taskqueue.Message) error
}

// Runner runs one execution to its result. It must return promptly once ctx
// is done.
type Runner interface {
	Run(ctx context.Context, e execution.Execution) execution.Result
}

// Registry is where a worker registers and keeps its session (package
// workers' Store): the lease every execution it runs is held under.
type Registry interface {
	Register(ctx context.Context, r registry.Registration, lease time.Duration) (registry.Worker, registry.Session, registry.SessionState, error)
	Renew(ctx context.Context, sess registry.Session, until time.Time, runs []registry.Run, handled []string) (registry.Signals, error)
	Signals(ctx context.Context, id string) (registry.Signals, error)
	SessionOf(ctx context.Context, id string) (registry.SessionState, error)
	SignOff(ctx context.Context, sess registry.Session) error
}

// Sampler measures the machine's load (registry.ProcSampler). It is called
// every SampleInterval; an unknown value does not hold the worker back.
type Sampler interface {
	Sample() (registry.Usage, error)
}

// Protector keeps the worker's task or instance out of its pool's
// scale-in (package scalein): on, for at most ttl unless renewed, or off.
type Protector interface {
	Protect(ctx context.Context, on bool, ttl time.Duration) error
}

// Config tunes a worker.
type Config struct {
	// ID names this worker in leases and logs; default host name and pid.
	ID string
	// Concurrency is how many executions run at once; default 1.
	Concurrency int
	// Lease is how long the worker's session holds without a renewal;
	// default 60 s. The session is renewed every Lease/2 (sooner again after a failed
	// renewal); when the worker
	// dies, the executions it ran are taken over once the lease ran out.
	Lease time.Duration
	// PollWait is the long-poll wait; default 20 s. Stopping waits for the
	// poll in flight, so it takes up to PollWait.
	PollWait time.Duration
	// Grace is how long running executions may finish after Run's context
	// ends; default 30 s. Then they are cancelled and released: pending
	// again, enqueued at once, for another worker (a release does not
	// count against the execution's retries).
	Grace time.Duration
	// RetryBackoff is the wait before an execution whose package failed
	// runs again: RetryBackoff·2^(n-1) before retry n, at most
	// RetryBackoffMax. Defaults 5 s and 5 min.
	RetryBackoff, RetryBackoffMax time.Duration
	// MaxReceives is the queue's maxReceiveCount (messages received more
	// often go to the dead-letter queue). A message that reached it is
	// replaced by a fresh one when it must come back again. 0: never
	// replaced.
	MaxReceives int
	Now         func() time.Time
	Logger      *slog.Logger

	// Registry is where the worker registers on Run and keeps its session
	// (required). While it is not registered (or lost its session and is
	// registering again) or is disabled, it takes no new work; running
	// executions finish.
	Registry Registry
	// Machine, Pools, Tags and Version describe the worker in its
	// registration (Machine defaults to the host name; Tags apply only to a
	// first registration). Pools[0] is the pool whose queue it serves.
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

	// Protector, when set, keeps the worker's task or instance out of
	// scale-in while it runs executions: on when it goes from idle to
	// busy, renewed every ProtectFor/2 while runs go on, off when it is
	// idle again and when it stops. A scale-in then takes idle workers
	// only, instead of releasing long runs to start again from scratch.
	Protector Protector
	// ProtectFor is how long one protection holds without a renewal
	// (default 30 min): a worker that hangs holds its task no longer.
	ProtectFor time.Duration
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
	if c.Machine == "" {
		c.Machine, _ = os.Hostname()
	}
	if c.MaxCPU == 0 {
		c.MaxCPU = registry.DefaultMaxCPU
	}
	if c.MinFreeMemory == 0 {
		c.MinFreeMemory = registry.DefaultMinFreeMemory
	}
	if c.SampleInterval == 0 {
		c.SampleInterval = time.Second
	}
	if c.ProtectFor == 0 {
		c.ProtectFor = DefaultProtectFor
	}
}

// DefaultProtectFor is Config.ProtectFor's default.
const DefaultProtectFor = 30 * time.Minute

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Registry == nil {
		errs = append(errs, errors.New("registry: required (the worker's session lives there)"))
	}
	if len(c.Pools) == 0 {
		errs = append(errs, errors.New("pools: name the pool whose queue the worker serves"))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d: must be at least 1", c.Concurrency))
	}
	if c.Lease != 0 && (c.Lease < 3*time.Second || c.Lease > 12*time.Hour) {
		errs = append(errs, fmt.Errorf("lease %s: give 3s to 12h (the session is renewed every lease/2)", c.Lease))
	}
	if c.PollWait < 0 || c.PollWait > 20*time.Second {
		errs = append(errs, fmt.Errorf("poll wait %s: must be between 0 and 20s (the SQS long-poll limit)", c.PollWait))
	}
	if c.RetryBackoff < 0 || c.RetryBackoffMax < 0 {
		errs = append(errs, fmt.Errorf("retry backoff %s (max %s): must not be negative", c.RetryBackoff, c.RetryBackoffMax))
	}
	if c.MaxCPU < 0 || c.MaxCPU > 100 {
		errs = append(errs, fmt.Errorf("max CPU %g%%: must be between 0 and 100", c.MaxCPU))
	}
	if c.ProtectFor < 0 {
		errs = append(errs, fmt.Errorf("protect for %s: must be positive", c.ProtectFor))
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
	sampleErrLogged bool

	// mu guards the session and the runs.
	mu sync.Mutex
	// sess is the current session; sessOK is false until registered, and
	// from when the session is lost until a new one is open.
	sess   registry.Session
	sessOK bool
	// runs are the attempts running now, by execution id.
	runs map[string]*run
	// handled are stop requests acted on (or for no run of this worker), to
	// remove at the next renewal.
	handled map[string]bool
	// claiming are the executions being claimed now: a stop request for one
	// is acted on once its run is registered.
	claiming map[string]bool
	// deletes are messages to delete, gathered into batch requests.
	deletes chan taskqueue.Message
	// busyChanged wakes keepProtection when runs or claims come or go.
	busyChanged chan struct{}
}

// deleteWindow is the longest a handled message waits to be deleted with
// others in one request (ten a request): under load most deletes share one.
const deleteWindow = 100 * time.Millisecond

// run is one attempt the worker runs.
type run struct {
	lease  execution.Lease
	cancel context.CancelCauseFunc
	// msg is the execution's message while the worker still holds it: until
	// a renewal recorded the run in the session, or the run ended.
	msg *taskqueue.Message
}

// New returns a worker.
func New(store Store, q Queue, r Runner, cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("worker configuration: %w", err)
	}
	cfg.defaults()
	reg := registry.Registration{ID: cfg.ID, Machine: cfg.Machine, Pools: cfg.Pools, MaxTasks: cfg.Concurrency,
		Version: cfg.Version, Tags: cfg.Tags}
	if err := reg.Validate(); err != nil {
		return nil, fmt.Errorf("worker registration: %w", err)
	}
	w := &Worker{cfg: cfg, store: store, queue: q, runner: r, log: cfg.Logger.With("worker_id", cfg.ID),
		runs: map[string]*run{}, handled: map[string]bool{}, claiming: map[string]bool{}, deletes: make(chan taskqueue.Message, 256),
		busyChanged: make(chan struct{}, 1)}
	w.gate.unregistered = true
	return w, nil
}

// ID is the worker's id.
func (w *Worker) ID() string { return w.cfg.ID }

// Run takes work until ctx ends, then lets running executions finish for
// the grace period before it cancels and releases them, signs its session
// off and returns.
func (w *Worker) Run(ctx context.Context) error {
	// Executions run on a context that outlives ctx by the grace period.
	runCtx, cancelRuns := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelRuns(nil)
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(w.cfg.Grace, func() { cancelRuns(errDrained) })
		context.AfterFunc(runCtx, func() { t.Stop() })
	})
	defer stop()

	w.log.InfoContext(ctx, "worker started", "concurrency", w.cfg.Concurrency, "lease", w.cfg.Lease)
	deleted := make(chan struct{})
	go func() { defer close(deleted); w.deleteBatches(context.WithoutCancel(ctx)) }()
	// The session outlives ctx until the last run ended: runs in their
	// grace period are still held under it.
	sessCtx, endSession := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	// The first registration and capacity reading come before the first
	// receive, so a disabled or busy worker takes nothing meanwhile.
	w.register(ctx)
	wg.Go(func() { w.keepSession(ctx, sessCtx) })
	wg.Go(func() { w.watchSignals(sessCtx) })
	if w.cfg.Protector != nil {
		wg.Go(func() { w.keepProtection(sessCtx) })
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
	endSession()
	wg.Wait()
	close(w.deletes)
	<-deleted
	w.signOff(ctx)
	w.log.Info("worker stopped")
	return nil
}

// Accepting reports whether the worker takes new work now: registered,
// enabled and under its capacity limits.
func (w *Worker) Accepting() bool { return w.gate.reason() == "" }

// session returns the current session, if one is open.
func (w *Worker) session() (registry.Session, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sess, w.sessOK
}

// register opens a session, retrying until it succeeds or ctx ends; it
// recovers the runs of this worker id's previous session if that one died
// (a killed process restarted with the same id) and arms the new session's
// watchdog.
func (w *Worker) register(ctx context.Context) bool {
	backoff := 100 * time.Millisecond
	for {
		rec, sess, prev, err := w.cfg.Registry.Register(ctx, registry.Registration{
			ID: w.cfg.ID, Machine: w.cfg.Machine, Pools: w.cfg.Pools, MaxTasks: w.cfg.Concurrency,
			Version: w.cfg.Version, Tags: w.cfg.Tags,
		}, w.cfg.Lease)
		if err == nil {
			w.log.InfoContext(ctx, "worker registered", "enabled", rec.Enabled, "session", sess.ID)
			if len(prev.Runs) > 0 {
				// This id's previous session died holding these: the
				// process was killed and restarted, or lost its session.
				w.log.InfoContext(ctx, "recovering the runs of this worker's previous session", "previous_session", prev.ID, "runs", len(prev.Runs))
				w.reap(ctx, prev, prev.Runs)
			}
			w.arm(ctx, sess)
			w.mu.Lock()
			w.sess, w.sessOK = sess, true
			w.mu.Unlock()
			w.gate.set(w.log, func(g *gate) { g.unregistered, g.disabled = false, !rec.Enabled })
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		wait := backoff
		if errors.Is(err, registry.ErrSessionLive) {
			wait = max(backoff, w.cfg.Lease/10)
		}
		w.log.WarnContext(ctx, "registration failed; retrying", "error", err, "backoff", wait)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		backoff = min(backoff*2, w.cfg.Lease/2)
	}
}

// arm sends the session's watchdog: it comes back when the lease would run
// out, to whichever worker of the pool polls then (see watch).
func (w *Worker) arm(ctx context.Context, sess registry.Session) {
	t := taskqueue.Task{Pool: w.cfg.Pools[0], Session: sess.ID, WorkerID: sess.WorkerID}
	for backoff := 100 * time.Millisecond; ; backoff = min(backoff*2, 5*time.Second) {
		err := w.queue.SendAfter(ctx, t, w.cfg.Lease+time.Second)
		if err == nil || ctx.Err() != nil {
			return
		}
		w.log.WarnContext(ctx, "could not send the session's watchdog; retrying", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// keepSession renews the session every Lease/2 while the worker takes
// work or runs anything (after a failed renewal it tries again every
// Lease/20), recording the runs; after a renewal it drops the messages of
// the runs it recorded. A session that cannot be renewed before
// its lease runs out (leaseMargin early) stops every run it holds: from then
// on another worker may take them over, and two attempts must never run at
// once. A lost session (its lease ran out, or its item is gone) is replaced
// by a new registration.
func (w *Worker) keepSession(ctx, sessCtx context.Context) {
	margin := min(w.cfg.Lease/10, 5*time.Second)
	sess, _ := w.session()
	expire := time.AfterFunc(time.Until(sess.LeaseUntil)-margin, func() {
		w.loseSession(sess, "the lease is about to run out without a renewal")
	})
	defer func() { expire.Stop() }()
	every, retry := w.cfg.Lease/2, max(w.cfg.Lease/20, 250*time.Millisecond)
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-sessCtx.Done():
			return
		case <-t.C:
		}
		t.Reset(every)
		sess, ok := w.session()
		if !ok {
			if w.register(ctx) {
				sess, _ = w.session()
				expire.Stop()
				expire = time.AfterFunc(time.Until(sess.LeaseUntil)-margin, func() {
					w.loseSession(sess, "the lease is about to run out without a renewal")
				})
			}
			continue
		}
		until := w.cfg.Now().Add(w.cfg.Lease)
		runs, handled := w.recordable()
		rctx, cancel := context.WithTimeout(sessCtx, w.cfg.Lease/4)
		sig, err := w.cfg.Registry.Renew(rctx, sess, until, runs, handled)
		cancel()
		switch {
		case errors.Is(err, scaleouttype.ErrNotFound):
			w.loseSession(sess, "the worker's registry item is gone")
		case errors.Is(err, registry.ErrSessionLost):
			w.loseSession(sess, err.Error())
		case err != nil:
			if sessCtx.Err() == nil {
				w.log.WarnContext(sessCtx, "session renewal failed; trying again", "error", err, "in", retry)
			}
			t.Reset(retry)
		default:
			if expire.Stop() {
				expire.Reset(until.Sub(w.cfg.Now()) - margin)
			}
			w.mu.Lock()
			w.sess.LeaseUntil = until
			for _, id := range handled {
				delete(w.handled, id)
			}
			w.mu.Unlock()
			w.apply(sig)
			w.dropRecorded(sessCtx, runs)
		}
	}
}

// recordable lists the runs to record and the stop requests handled.
func (w *Worker) recordable() ([]registry.Run, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	runs := make([]registry.Run, 0, len(w.runs))
	for id, r := range w.runs {
		if r.lease.Session == w.sess.ID { // not a lost session's run, still stopping
			runs = append(runs, registry.Run{ExecutionID: id, Attempt: r.lease.Attempt})
		}
	}
	handled := make([]string, 0, len(w.handled))
	for id := range w.handled {
		handled = append(handled, id)
	}
	return runs, handled
}

// dropRecorded deletes the messages of runs a renewal recorded: from now on
// the session, not the message, finds them should this worker die.
func (w *Worker) dropRecorded(ctx context.Context, recorded []registry.Run) {
	var msgs []taskqueue.Message
	w.mu.Lock()
	for _, rec := range recorded {
		if r, ok := w.runs[rec.ExecutionID]; ok && r.lease.Attempt == rec.Attempt && r.lease.Session == w.sess.ID && r.msg != nil {
			msgs = append(msgs, *r.msg)
			r.msg = nil
		}
	}
	w.mu.Unlock()
	if len(msgs) == 0 {
		return
	}
	if err := w.queue.DeleteAll(ctx, msgs); err != nil {
		// A message left comes back; the worker that receives it finds the
		// execution held by this live session and looks again later.
		w.log.WarnContext(ctx, "could not delete the messages of recorded runs", "error", err)
	}
}

// loseSession stops every run held under sess and closes the gate until a
// new session is open.
func (w *Worker) loseSession(sess registry.Session, why string) {
	w.mu.Lock()
	if !w.sessOK || w.sess.ID != sess.ID {
		w.mu.Unlock()
		return
	}
	w.sessOK = false
	var lost []*run
	for _, r := range w.runs {
		lost = append(lost, r)
	}
	w.mu.Unlock()
	w.gate.set(w.log, func(g *gate) { g.unregistered = true })
	w.log.Warn("session lost; stopping the runs it held", "session", sess.ID, "reason", why, "runs", len(lost))
	for _, r := range lost {
		r.cancel(execution.LeaseLost{ConflictError: &execution.ConflictError{ID: r.lease.ID,
			Want: fmt.Sprintf("held by session %s of worker %q (%s)", sess.ID, sess.WorkerID, why)}})
	}
}

// watchSignals reads the worker's signals every StopCheck: stop requests
// cancel their runs, and the enabled flag opens or closes the gate.
func (w *Worker) watchSignals(ctx context.Context) {
	t := time.NewTicker(StopCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sig, err := w.cfg.Registry.Signals(ctx, w.cfg.ID)
		switch {
		case errors.Is(err, scaleouttype.ErrNotFound):
			// The renewal confirms a removal (this read may lag).
		case err != nil:
			if ctx.Err() == nil {
				w.log.WarnContext(ctx, "could not read the worker's signals", "error", err)
			}
		default:
			w.apply(sig)
		}
	}
}

// apply acts on signals: stops requested runs, follows the enabled flag.
func (w *Worker) apply(sig registry.Signals) {
	w.gate.set(w.log, func(g *gate) { g.disabled = !sig.Enabled })
	var stops []*run
	w.mu.Lock()
	for _, id := range sig.Stops {
		if w.handled[id] || w.claiming[id] {
			continue // acted on, or acted on once its run is registered
		}
		w.handled[id] = true
		if r, ok := w.runs[id]; ok {
			stops = append(stops, r)
		}
	}
	w.mu.Unlock()
	for _, r := range stops {
		w.log.Info("stop requested; canceling the run", "execution_id", r.lease.ID)
		r.cancel(ErrStopRequested)
	}
}

// signOff tells the registry the worker stopped cleanly, ending its
// session (nothing it held is left: every run ended or was released).
func (w *Worker) signOff(ctx context.Context) {
	sess, ok := w.session()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.cfg.Registry.SignOff(ctx, sess); err != nil {
		w.log.Warn("sign-off failed", "error", err)
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
		// A message stays invisible as long as the session's lease: if this
		// worker dies before a renewal recorded the run, the message is back
		// when another worker may take the execution over.
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

// handle takes one message to its end, in steps: claim the execution
// (claimMessage), record the run and run it (startRun, runTimed, endRun),
// then settle how the attempt ends and record it (settle, record). ctx is
// the run context.
func (w *Worker) handle(ctx context.Context, m taskqueue.Message) {
	if m.Watchdog() {
		w.watch(ctx, m)
		return
	}
	log := w.log.With("execution_id", m.ExecutionID, "receive_count", m.ReceiveCount)
	if m.ExecutionID == "" {
		log.WarnContext(ctx, "deleting a message that is not an execution task")
		w.delete(ctx, log, m)
		return
	}
	e, sess, ok := w.claimMessage(ctx, log, m)
	if !ok {
		return
	}
	lease := execution.LeaseOf(e)
	log = log.With("attempt", e.Attempt, "package", e.Ref())
	if len(e.Attempts) > 0 {
		last := e.Attempts[len(e.Attempts)-1]
		log = log.With("previous_outcome", last.Outcome)
	}
	log.InfoContext(ctx, "execution started")

	runCtx, cancel := w.startRun(ctx, m, e, lease, sess)
	defer cancel(nil)
	res := w.runTimed(runCtx, e)
	drained := errors.Is(context.Cause(runCtx), errDrained)
	held := w.endRun(e.ID)
	// What follows records the end even while the worker stops.
	ctx, cancelEnd := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancelEnd()
	if cause := context.Cause(runCtx); errors.Is(cause, execution.ErrLeaseLost) {
		log.WarnContext(ctx, "lease lost while running; result dropped", "error", cause)
		if held != nil {
			// Back when the lease has run out, for whoever takes over.
			w.lookAgainLater(ctx, log, *held, &execution.Execution{WorkerID: w.cfg.ID, Attempt: e.Attempt, LeaseUntil: ptr(w.cfg.Now().Add(w.cfg.Lease))})
		}
		return
	}
	stopped := errors.Is(context.Cause(runCtx), ErrStopRequested)
	cancel(nil)
	res, handed := w.settle(ctx, log, held, e, res, drained, stopped)
	if handed {
		return
	}
	w.record(ctx, log, lease, res, held)
}

// claimMessage claims the execution m names for this worker's session. When
// it cannot, it disposes of m as the reason says (deletes it, puts it back
// for later, or leaves it to come back after its visibility timeout) and
// reports false.
func (w *Worker) claimMessage(ctx context.Context, log *slog.Logger, m taskqueue.Message) (execution.Execution, registry.Session, bool) {
	sess, ok := w.session()
	if !ok {
		w.release(ctx, []taskqueue.Message{m})
		return execution.Execution{}, sess, false
	}
	w.mu.Lock()
	w.claiming[m.ExecutionID] = true
	w.mu.Unlock()
	w.busyChange()
	e, err := w.store.Claim(ctx, m.ExecutionID, sess, w.cfg.Now())
	if err != nil {
		w.mu.Lock()
		delete(w.claiming, m.ExecutionID)
		w.mu.Unlock()
		w.busyChange()
	}
	var conflict *execution.ConflictError
	switch {
	case errors.Is(err, scaleouttype.ErrNotFound):
		log.WarnContext(ctx, "no such execution; deleting its message")
		w.delete(ctx, log, m)
		return e, sess, false
	case errors.As(err, &conflict) && conflict.Current != nil && conflict.Current.Status.Final():
		log.InfoContext(ctx, "execution already ended; deleting duplicate message", "status", conflict.Current.Status)
		w.delete(ctx, log, m)
		return e, sess, false
	case errors.As(err, &conflict) && conflict.Current != nil && conflict.Current.LeaseUntil != nil:
		w.lookAgainLater(ctx, log, m, conflict.Current)
		return e, sess, false
	case errors.As(err, &conflict) && conflict.Current != nil && conflict.Current.Status == execution.Pending &&
		conflict.Current.NotBefore != nil:
		wait := max(conflict.Current.NotBefore.Sub(w.cfg.Now()), time.Second)
		log.InfoContext(ctx, "retry backoff not over; looking again then", "in", wait)
		if err := w.queue.Extend(ctx, m, roundUp(wait)); err != nil {
			log.WarnContext(ctx, "could not set the message's visibility", "error", err)
		}
		return e, sess, false
	case err != nil:
		// The store failed: the message comes back after its visibility
		// timeout.
		log.WarnContext(ctx, "not claimed; leaving the message", "reason", err)
		return e, sess, false
	}
	return e, sess, true
}

// startRun records the claimed run, so that the session renews its lease
// and a stop request finds it, and returns the context it runs under. That
// context is canceled at once when a stop was asked for already, or when the
// session was lost between the claim and now: the run must not start
// without it.
func (w *Worker) startRun(ctx context.Context, m taskqueue.Message, e execution.Execution, lease execution.Lease, sess registry.Session) (context.Context, context.CancelCauseFunc) {
	runCtx, cancel := context.WithCancelCause(ctx)
	w.mu.Lock()
	msg := m
	w.runs[e.ID] = &run{lease: lease, cancel: cancel, msg: &msg}
	delete(w.claiming, e.ID)
	stopNow := w.handled[e.ID]
	lost := !w.sessOK || w.sess.ID != sess.ID
	w.mu.Unlock()
	if lost {
		cancel(execution.LeaseLost{ConflictError: &execution.ConflictError{ID: e.ID,
			Want: fmt.Sprintf("held by session %s of worker %q (lost before the run started)", sess.ID, sess.WorkerID)}})
	} else if stopNow {
		cancel(ErrStopRequested)
	}
	return runCtx, cancel
}

// runTimed runs the execution's package under runCtx and, when it has one,
// its timeout: a run the timeout ended fails and says so.
func (w *Worker) runTimed(runCtx context.Context, e execution.Execution) execution.Result {
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
	return res
}

// endRun ends the record startRun made: the session stops renewing the
// run's lease, and its message, if still held, is returned for the caller
// to dispose of.
func (w *Worker) endRun(id string) *taskqueue.Message {
	w.mu.Lock()
	held := w.runs[id].msg
	delete(w.runs, id)
	w.mu.Unlock()
	w.busyChange()
	return held
}

// settle decides how an attempt that kept its lease ends: a final status
// for its result, or, for a failure that may be retried or a run the drain
// cut short, handed back for another attempt (handed is then true, and
// there is nothing left to record).
func (w *Worker) settle(ctx context.Context, log *slog.Logger, held *taskqueue.Message, e execution.Execution, res execution.Result, drained, stopped bool) (_ execution.Result, handed bool) {
	if res.Status == "" || !res.Status.Final() {
		res.Status = execution.Failed
	}
	if stopped {
		res.Status, res.Error = execution.Canceled, "stopped by request"
	}
	if (drained && !stopped && res.Status != execution.Succeeded) || (res.Status == execution.Failed && !stopped && e.CanRetry()) {
		release := drained && res.Status != execution.Succeeded
		handed, unrecordable := w.handBack(ctx, log, held, e, res, release)
		switch {
		case handed:
			return res, true
		case unrecordable != nil:
			res = unrecorded(fmt.Sprintf("attempt %d ended (%s) but could not be handed back for another attempt: %v",
				e.Attempt, execution.Clip(reason(res), unrecordedReasonBytes), unrecordable))
		default:
			res.Status, res.Error = execution.Canceled, "stopped by request"
		}
	}
	return res, false
}

// record writes the attempt's end under its lease and then deletes its
// message, if still held. A result too large to record is replaced by one
// that says so; when the write fails otherwise, the message is left to come
// back (the reconciler recovers the execution), unless the lease was lost.
func (w *Worker) record(ctx context.Context, log *slog.Logger, lease execution.Lease, res execution.Result, held *taskqueue.Message) {
	done, err := w.store.Finish(ctx, lease, res, w.cfg.Now())
	if errors.Is(err, execution.ErrTooLarge) {
		// Whatever was accepted must end in a final state that says what
		// happened, not be left for the lease to run out on a live worker.
		log.WarnContext(ctx, "the result is too large to record; recording the execution failed, without it", "status", res.Status, "error", err)
		res = unrecorded(fmt.Sprintf("the package ended %s, but its result could not be recorded (%v); "+
			"the execution's messages show what it did. The package's result: %s", res.Status, err,
			execution.Clip(reason(res), unrecordedReasonBytes)))
		done, err = w.store.Finish(ctx, lease, res, w.cfg.Now())
	}
	if err != nil {
		log.WarnContext(ctx, "could not record the result", "status", res.Status, "error", err)
		if !errors.Is(err, execution.ErrLeaseLost) {
			// Left running under this live session that no longer runs
			// it: the reconciler recovers it (see execstore.Recover). The
			// message, if still held, comes back after its visibility.
			return
		}
	} else {
		log.InfoContext(ctx, "execution ended", "status", done.Status,
			"duration_ms", done.EndedAt.Sub(*done.StartedAt).Milliseconds())
	}
	if held != nil {
		w.delete(ctx, log, *held)
	}
}

func ptr[T any](v T) *T { return &v }

// unrecordedReasonBytes caps the package's reason quoted in an unrecorded
// result.
const unrecordedReasonBytes = 256

// unrecorded is the result that ends an execution whose own result could
// not be recorded: failed, saying why in at most execution.MaxReasonBytes,
// without task summaries, so that it takes less room than what was refused
// (the package's own reason cut to unrecordedReasonBytes in it).
func unrecorded(why string) execution.Result {
	return execution.Result{Status: execution.Failed, Error: execution.Clip(why, execution.MaxReasonBytes)}
}

// watch handles a session's watchdog: a live session's is sent again, to
// come back when its lease would run out; a dead one's runs are recovered
// (pending again and enqueued, or ended by their lost-attempt budget) and
// the watchdog is dropped.
func (w *Worker) watch(ctx context.Context, m taskqueue.Message) {
	log := w.log.With("watched_worker", m.WorkerID, "watched_session", m.Session)
	st, err := w.cfg.Registry.SessionOf(ctx, m.WorkerID)
	if err != nil {
		log.WarnContext(ctx, "could not read a watched session; its watchdog comes back", "error", err)
		return
	}
	now := w.cfg.Now()
	if st.Holds(m.Session, now) {
		// Alive: look again when its lease would run out. A fresh message
		// each time (not a longer visibility): the watchdog stays out of
		// the in-flight count and the age of the oldest message, which
		// speak of waiting work, and never nears maxReceiveCount.
		if err := w.queue.SendAfter(ctx, m.Task, roundUp(st.LeaseUntil.Sub(now)+100*time.Millisecond)); err != nil {
			log.WarnContext(ctx, "could not re-arm a watchdog; it comes back after its visibility", "error", err)
			return
		}
		w.delete(ctx, log, m)
		return
	}
	if st.Exists && st.ID == m.Session && len(st.Runs) > 0 {
		log.InfoContext(ctx, "watched session is dead; recovering its runs", "lease_until", st.LeaseUntil, "runs", len(st.Runs))
		if !w.reap(ctx, st, st.Runs) {
			return // the watchdog comes back after its visibility; reaping again is harmless
		}
	}
	w.delete(ctx, log, m)
}

// reap recovers runs of the dead session st and enqueues the ones that are
// pending again; it reports whether every one was dealt with.
func (w *Worker) reap(ctx context.Context, st registry.SessionState, runs []registry.Run) bool {
	ok := true
	for _, r := range runs {
		log := w.log.With("execution_id", r.ExecutionID, "lost_attempt", r.Attempt, "lost_worker", st.WorkerID)
		e, recovered, err := w.store.Reap(ctx, st, r, w.cfg.Now())
		switch {
		case err != nil:
			log.WarnContext(ctx, "could not recover a lost run", "error", err)
			ok = false
		case recovered && e.Status == execution.Pending:
			if err := w.queue.Send(ctx, taskqueue.Task{ExecutionID: e.ID, Pool: e.Pool}); err != nil {
				// Pending with enqueued_at now: the reconciler sends it.
				log.WarnContext(ctx, "recovered a lost run but could not enqueue it", "error", err)
			} else {
				log.InfoContext(ctx, "lost run recovered and enqueued", "lost_retries_left", e.LostRetries-e.LostAttempts())
			}
		case recovered:
			log.InfoContext(ctx, "lost run ended the execution", "status", e.Status, "reason", e.Error)
		}
	}
	return ok
}

// handBack ends the attempt e without ending the execution: released (a
// draining worker) or failed with a retry left, after a backoff. It
// reports whether it was dealt with. When it was not, the caller must
// finish the execution: canceled when it is being stopped, or failed when
// the attempt could not be recorded (unrecordable says why: the
// execution's item is full). held is the execution's message if the worker
// still holds it.
func (w *Worker) handBack(ctx context.Context, log *slog.Logger, held *taskqueue.Message, e execution.Execution, res execution.Result, release bool) (handed bool, unrecordable error) {
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
		delay = wait.Backoff(w.cfg.RetryBackoff, w.cfg.RetryBackoffMax, e.CountedAttempts())
		_, err = w.store.Retry(ctx, lease, rec, now.Add(delay))
	}
	var conflict *execution.ConflictError
	switch {
	case errors.As(err, &conflict) && conflict.Current != nil && conflict.Current.Status == execution.Stopping &&
		execution.LeaseOf(*conflict.Current) == lease:
		return false, nil
	case errors.Is(err, execution.ErrTooLarge):
		log.WarnContext(ctx, "the attempt cannot be recorded for another one: the execution is too large", "error", err)
		return false, err
	case errors.Is(err, execution.ErrLeaseLost):
		log.WarnContext(ctx, "lease lost before the attempt was handed back", "error", err)
		if held != nil {
			w.delete(ctx, log, *held)
		}
		return true, nil
	case err != nil:
		log.WarnContext(ctx, "could not hand the attempt back; the reconciler recovers it", "error", err)
		return true, nil
	}
	if release {
		log.InfoContext(ctx, "execution released for another worker")
	} else {
		log.InfoContext(ctx, "attempt failed; retrying after a backoff", "error", execution.Clip(rec.Reason, execution.MaxReasonBytes), "backoff", delay,
			"attempts_counted", e.CountedAttempts(), "retries", e.Retries)
	}
	t := taskqueue.Task{ExecutionID: e.ID, Pool: e.Pool}
	if held != nil {
		w.requeue(ctx, log, *held, roundUp(delay))
	} else if err := w.queue.SendAfter(ctx, t, roundUp(delay)); err != nil {
		log.WarnContext(ctx, "could not enqueue the execution again; the reconciler sends it", "error", err)
	}
	return true, nil
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

// maxMessageAge bounds how long one message is kept coming back (the
// queue's age-of-oldest-message alarm must see waiting work, not a watchdog
// or a backoff that keeps returning): older, it is replaced by a fresh one.
const maxMessageAge = 10 * time.Minute

// requeue makes m come back after delay by changing its visibility (one
// call, no new message). A message that reached MaxReceives would go to the
// dead-letter queue at its next receive, one that would come back more
// than maxMessageAge after it was sent would trip the age alarm, and SQS
// keeps a message invisible at most 12 h from its receive: those are
// replaced by a fresh one, delayed as long as SQS allows (a watchdog or an
// execution that comes back early is looked at again, no harm done).
func (w *Worker) requeue(ctx context.Context, log *slog.Logger, m taskqueue.Message, delay time.Duration) {
	replace := w.cfg.MaxReceives > 0 && m.ReceiveCount >= w.cfg.MaxReceives
	replace = replace || (!m.SentAt.IsZero() && w.cfg.Now().Add(delay).Sub(m.SentAt) > maxMessageAge)
	if replace {
		err := w.queue.SendAfter(ctx, m.Task, delay)
		if err == nil {
			w.delete(ctx, log, m)
			return
		}
		log.WarnContext(ctx, "could not replace a message; keeping it", "error", err)
	}
	if err := w.queue.Extend(ctx, m, min(delay, 12*time.Hour-time.Minute)); err != nil {
		log.WarnContext(ctx, "could not set the message's visibility; it returns after its visibility timeout", "error", err)
	}
}

// lookAgainLater leaves a message whose execution another attempt holds
// invisible until that attempt's session lease would run out, so that a
// takeover, if one is needed, is not delayed by a whole visibility timeout.
func (w *Worker) lookAgainLater(ctx context.Context, log *slog.Logger, m taskqueue.Message, holder *execution.Execution) {
	wait := max(holder.LeaseUntil.Sub(w.cfg.Now()), time.Second)
	log.InfoContext(ctx, "held by another attempt; looking again when its lease runs out",
		"holder", holder.WorkerID, "holder_attempt", holder.Attempt, "in", wait)
	w.requeue(ctx, log, m, roundUp(wait))
}

func (w *Worker) release(ctx context.Context, msgs []taskqueue.Message) {
	for _, m := range msgs {
		if err := w.queue.Release(ctx, m); err != nil {
			w.log.WarnContext(ctx, "could not release a message on stop; it returns after its visibility timeout",
				"execution_id", m.ExecutionID, "error", err)
		}
	}
}

// delete hands m to the batch deleter (see deleteWindow); it deletes at
// once when the deleter is behind.
func (w *Worker) delete(ctx context.Context, log *slog.Logger, m taskqueue.Message) {
	select {
	case w.deletes <- m:
		return
	default:
	}
	if err := w.queue.Delete(ctx, m); err != nil {
		log.WarnContext(ctx, "delete failed; the message will come back and be dropped then", "error", err)
	}
}

// deleteBatches deletes the messages handed to delete, ten a request, each
// batch gathered for at most deleteWindow, until the channel is closed.
func (w *Worker) deleteBatches(ctx context.Context) {
	var batch []taskqueue.Message
	var timer <-chan time.Time
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := w.queue.DeleteAll(ctx, batch); err != nil {
			w.log.WarnContext(ctx, "delete failed; the messages will come back and be dropped then", "messages", len(batch), "error", err)
		}
		batch, timer = batch[:0], nil
	}
	for {
		select {
		case m, ok := <-w.deletes:
			if !ok {
				flush()
				return
			}
			batch = append(batch, m)
			if len(batch) == 1 {
				timer = time.After(deleteWindow)
			}
			if len(batch) == 10 {
				flush()
			}
		case <-timer:
			flush()
		}
	}
}
