package worker_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execmem"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/packages/pkgrun"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/testkit/proctest"
	"github.com/scaleout/scaleout/internal/testkit/testclock"
	"github.com/scaleout/scaleout/internal/testkit/testlog"
	"github.com/scaleout/scaleout/internal/worker"
	"github.com/scaleout/scaleout/internal/worker/registry"
	"github.com/scaleout/scaleout/internal/worker/scalein"
	"github.com/scaleout/scaleout/internal/worker/scalein/agenttest"
	"github.com/scaleout/scaleout/scaleouttype"
)

// pool is the pool the tests' workers serve.
const pool = "default"

// Each test has its own store, registry, queue and message log, in memory
// (their conformance suites hold them to the DynamoDB and SQS adapters'
// rules), so the tests run in parallel and need no stand-ins. The workers
// of one test share them, as the workers of one deployment share a table
// and a queue.
type bundle struct {
	store  *execmem.Store
	reg    *execmem.Registry
	queue  *taskqueue.Memory
	runner pkgrun.Runner
	msgs   *messages.Memory
}

// setup returns a bundle whose registry reads time.Now.
func setup(t *testing.T) bundle { return setupAt(t, nil) }

// setupAt returns a bundle whose registry reads the time from now (nil:
// time.Now).
func setupAt(t *testing.T, now func() time.Time) bundle {
	t.Helper()
	store := execmem.New(now)
	b := bundle{
		store: store,
		reg:   store.Registry(),
		queue: taskqueue.NewMemory(taskqueue.MemoryOptions{}),
		msgs:  messages.NewMemory(),
	}
	b.runner = pkgrun.Runner{Types: tasktypes.NewRegistry(), Messages: b.msgs}
	return b
}

func (b bundle) submit(t *testing.T, command ...string) execution.Execution {
	t.Helper()
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "worker-test", Pool: pool,
		Status: execution.Pending, Definition: pkgrun.CommandDefinition("worker-test", command),
		LostRetries: execution.DefaultLostRetries, CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	ctx := context.Background()
	require.NoError(t, b.store.Create(ctx, e))
	require.NoError(t, b.queue.Send(ctx, taskqueue.Task{ExecutionID: e.ID, Pool: pool}))
	return e
}

// start runs a worker until the test ends (or stop is called).
func (b bundle) start(t *testing.T, r worker.Runner, cfg worker.Config) (stop func()) {
	t.Helper()
	_, stop = b.startWorker(t, r, cfg)
	return stop
}

// startWorker is start that also returns the worker.
func (b bundle) startWorker(t *testing.T, r worker.Runner, cfg worker.Config) (w *worker.Worker, stop func()) {
	t.Helper()
	cfg.PollWait = time.Second
	cfg.Logger = testLogger(t)
	if cfg.Registry == nil {
		cfg.Registry = b.reg
	}
	if len(cfg.Pools) == 0 {
		cfg.Pools = []string{pool}
	}
	if cfg.Lease == 0 {
		cfg.Lease = 3 * time.Second // renewed every second
	}
	w, err := worker.New(b.store, b.queue, r, cfg)
	require.NoError(t, err)
	return w, b.run(t, w)
}

// run runs w until the test ends (or stop is called).
func (b bundle) run(t *testing.T, w *worker.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		assert.NoError(t, w.Run(ctx))
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("worker did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// testLogger shows the worker's log with the test's output when it fails.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testlog.Writer(t), nil))
}

func (b bundle) waitStatus(t *testing.T, id string, want execution.Status) execution.Execution {
	t.Helper()
	var e execution.Execution
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var err error
		e, err = b.store.Get(context.Background(), id)
		require.NoError(c, err)
		assert.Equal(c, want, e.Status)
	}, 20*time.Second, 20*time.Millisecond, "execution %s never reached %s", id, want)
	return e
}

// queueEmpty waits until no message is visible or in flight (a session's
// watchdog, delayed until its lease would run out, is neither).
func (b bundle) queueEmpty(t *testing.T) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		visible, inFlight, err := b.queue.Depth(context.Background())
		require.NoError(c, err)
		assert.Zero(c, visible, "visible")
		assert.Zero(c, inFlight, "in flight")
	}, 15*time.Second, 50*time.Millisecond, "messages left in the queue")
}

func TestRunsExecutionsToTheirEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t, b.runner, worker.Config{ID: "w1", Concurrency: 2})
	ok := b.submit(t, "sh", "-c", "echo done")
	bad := b.submit(t, "sh", "-c", "exit 4")
	missing := b.submit(t, "/no/such/program")

	e := b.waitStatus(t, ok.ID, execution.Succeeded)
	require.Equal(t, "w1", e.WorkerID)
	require.Equal(t, 1, e.Attempt)
	require.Nil(t, e.LeaseUntil)
	require.Equal(t, "main", e.Tasks[0].Path)
	require.Equal(t, "succeeded", e.Tasks[0].Status)
	page, err := b.msgs.List(context.Background(), ok.ID, "", 100)
	require.NoError(t, err)
	var kinds, lines []string
	for _, m := range page.Messages {
		kinds = append(kinds, m.Kind)
		if m.Kind == "output" {
			lines = append(lines, m.Stream+": "+m.Message)
		}
	}
	require.Equal(t, "package_started", kinds[0])
	require.Equal(t, "package_ended", kinds[len(kinds)-1])
	require.Equal(t, []string{"stdout: done"}, lines)

	e = b.waitStatus(t, bad.ID, execution.Failed)
	require.Contains(t, e.Tasks[0].Error, "exited with code 4")
	e = b.waitStatus(t, missing.ID, execution.Failed)
	require.Contains(t, e.Error, "/no/such/program")
	b.queueEmpty(t)
}

// A message for an execution that already ended is dropped without a run.
func TestDuplicateMessageIsDropped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stop := b.start(t, b.runner, worker.Config{ID: "w1"})
	e := b.submit(t, "true")
	b.waitStatus(t, e.ID, execution.Succeeded)
	b.queueEmpty(t)
	stop()

	require.NoError(t, b.queue.Send(context.Background(), taskqueue.Task{ExecutionID: e.ID, Pool: pool}))
	require.NoError(t, b.queue.Send(context.Background(), taskqueue.Task{ExecutionID: uuid.NewString(), Pool: pool}))
	b.start(t, b.runner, worker.Config{ID: "w2"})
	b.queueEmpty(t)
	got, err := b.store.Get(context.Background(), e.ID)
	require.NoError(t, err)
	require.Equal(t, 1, got.Attempt, "the finished execution did not run again")
	require.Equal(t, "w1", got.WorkerID)
}

// On stop, running executions get the grace period to finish.
func TestStopLetsRunningExecutionsFinish(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stop := b.start(t, b.runner, worker.Config{ID: "w1", Grace: 20 * time.Second})
	e := b.submit(t, "sh", "-c", "sleep 1; echo finished")
	b.waitStatus(t, e.ID, execution.Running)
	stop()
	got, err := b.store.Get(context.Background(), e.ID)
	require.NoError(t, err)
	require.Equal(t, execution.Succeeded, got.Status)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := worker.New(nil, nil, nil, worker.Config{Concurrency: -1, Lease: time.Second, PollWait: time.Minute})
	require.Error(t, err)
	for _, want := range []string{"concurrency -1", "lease 1s: give 3s to 12h", "poll wait 1m0s", "registry: required", "pools: name the pool"} {
		require.ErrorContains(t, err, want)
	}
}

// blockingRunner runs until its context ends and tells when it started.
type blockingRunner struct {
	started chan string
	ended   chan struct{} // closed when a run ends, if set
}

func (r blockingRunner) Run(ctx context.Context, e execution.Execution) execution.Result {
	r.started <- e.ID
	<-ctx.Done()
	if r.ended != nil {
		close(r.ended)
	}
	return execution.Result{Status: execution.Failed, Error: "canceled: " + context.Cause(ctx).Error()}
}

// When the worker's session is lost (here: replaced, as when another
// process registered the same worker id after its lease ran out), every
// run it held is cancelled at the next renewal and its result is never
// written; another attempt takes the execution over.
//
// The worker and the registry read a clock the test moves: the lease runs
// out when the test says, not after a wait.
func TestLostSessionCancelsTheRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testclock.New()
	b := setupAt(t, clock.Now)
	r := blockingRunner{started: make(chan string, 1), ended: make(chan struct{})}
	id := "w1"
	b.start(t, r, worker.Config{ID: id, Now: clock.Now})
	e := b.submit(t, "ignored")
	require.Equal(t, e.ID, <-r.started)
	claimed := b.waitStatus(t, e.ID, execution.Running)
	// A renewal recorded the run in the session and dropped its message:
	// from now on only the session holds it.
	b.queueEmpty(t)

	// The lease runs out and another process registers the same worker id
	// (then stops, so that the worker can register again).
	clock.Add(time.Minute)
	_, other, prev, err := b.reg.Register(ctx, registry.Registration{ID: id, Machine: "another-machine",
		Pools: []string{pool}, MaxTasks: 1}, 3*time.Second)
	require.NoError(t, err)
	require.Equal(t, []registry.Run{{ExecutionID: e.ID, Attempt: claimed.Attempt}}, prev.Runs, "the replaced session held the run")
	require.NoError(t, b.reg.SignOff(ctx, other))
	select {
	case <-r.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the run went on after its session was lost")
	}
	require.Never(t, func() bool {
		got, err := b.store.Get(ctx, e.ID)
		// assert, not require: this runs in Never's goroutine. An error
		// fails the test and ends the wait.
		return !assert.NoError(t, err) || got.Status != execution.Running
	}, 1500*time.Millisecond, 100*time.Millisecond, "the lost attempt must not write its result")

	// Its session replaced, the attempt is taken over at once.
	_, sess, _, err := b.reg.Register(ctx, registry.Registration{ID: "w9", Machine: "m",
		Pools: []string{pool}, MaxTasks: 1}, time.Minute)
	require.NoError(t, err)
	next, err := b.store.Claim(ctx, e.ID, sess, clock.Now())
	require.NoError(t, err)
	require.Equal(t, claimed.Attempt+1, next.Attempt)
	require.Equal(t, execution.OutcomeLost, next.Attempts[0].Outcome)
	_, err = b.store.Finish(ctx, execution.LeaseOf(next), execution.Result{Status: execution.Succeeded}, clock.Now())
	require.NoError(t, err)
	b.queueEmpty(t)
}

// registered is a worker configuration with the registry and fast heartbeats.
func (b bundle) registered(id string) worker.Config {
	return worker.Config{ID: id, Registry: b.reg, Lease: 3 * time.Second,
		Pools: []string{pool}, Version: "test", Tags: map[string]string{"suite": "worker"}}
}

// waitFile is a package that runs until the test creates the returned file.
func waitFile(t *testing.T) (command []string, finish func()) {
	path := filepath.Join(t.TempDir(), "go")
	return []string{"sh", "-c", "while [ ! -e " + path + " ]; do sleep 0.05; done"}, func() {
		require.NoError(t, os.WriteFile(path, nil, 0o644))
	}
}

func (b bundle) waitWorker(t *testing.T, id string, ok func(registry.Worker) bool, msg string) {
	t.Helper()
	require.Eventually(t, func() bool {
		w, err := b.reg.Get(context.Background(), id)
		return err == nil && ok(w)
	}, 10*time.Second, 20*time.Millisecond, msg)
}

func TestRegistersAndHeartbeatsTheRunningCount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := "w1"
	b.start(t, b.runner, b.registered(id))

	b.waitWorker(t, id, func(w registry.Worker) bool { return w.Online }, "never registered")
	w, err := b.reg.Get(context.Background(), id)
	require.NoError(t, err)
	host, _ := os.Hostname()
	require.Equal(t, host, w.Machine)
	require.Equal(t, []string{pool}, w.Pools)
	require.Equal(t, 1, w.MaxTasks)
	require.Equal(t, "test", w.Version)
	require.Equal(t, map[string]string{"suite": "worker"}, w.Tags)
	require.True(t, w.Enabled)

	cmd, finish := waitFile(t)
	e := b.submit(t, cmd...)
	b.waitWorker(t, id, func(w registry.Worker) bool { return w.Running == 1 }, "running never 1")
	finish()
	b.waitStatus(t, e.ID, execution.Succeeded)
	b.waitWorker(t, id, func(w registry.Worker) bool { return w.Running == 0 }, "running never back to 0")
	b.queueEmpty(t)
}

func TestDisabledWorkerTakesNoNewWork(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	id1, id2 := "w1", "w2"
	w1, _ := b.startWorker(t, b.runner, b.registered(id1))
	w2, stop2 := b.startWorker(t, b.runner, b.registered(id2))
	require.Eventually(t, func() bool { return w1.Accepting() && w2.Accepting() }, 10*time.Second, 20*time.Millisecond)

	_, err := b.reg.SetEnabled(ctx, id1, false)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !w1.Accepting() }, 10*time.Second, 20*time.Millisecond,
		"the heartbeat never told w1 it was disabled")
	var ids []string
	for range 4 {
		ids = append(ids, b.submit(t, "true").ID)
	}
	for _, id := range ids {
		e := b.waitStatus(t, id, execution.Succeeded)
		require.Equal(t, id2, e.WorkerID, "only the enabled worker takes work")
	}
	b.queueEmpty(t)

	// w2 goes away; w1, enabled again, takes work again.
	stop2()
	_, err = b.reg.SetEnabled(ctx, id1, true)
	require.NoError(t, err)
	require.Eventually(t, w1.Accepting, 10*time.Second, 20*time.Millisecond)
	e := b.waitStatus(t, b.submit(t, "true").ID, execution.Succeeded)
	require.Equal(t, id1, e.WorkerID)
	b.queueEmpty(t)
}

// An online worker is not removed (its item holds the lease its runs are
// under); once it stopped, it is.
func TestOnlyAnOfflineWorkerIsRemoved(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	id := "w1"
	_, stop := b.startWorker(t, b.runner, b.registered(id))
	b.waitWorker(t, id, func(w registry.Worker) bool { return w.Online }, "never registered")

	cmd, finish := waitFile(t)
	running := b.submit(t, cmd...)
	b.waitStatus(t, running.ID, execution.Running)
	require.ErrorIs(t, b.reg.Remove(ctx, id), registry.ErrBusy, "running an execution")
	finish()
	b.waitStatus(t, running.ID, execution.Succeeded)
	require.ErrorIs(t, b.reg.Remove(ctx, id), registry.ErrBusy, "idle, but online: a claim may not be recorded yet")

	stop() // signs its session off
	b.waitWorker(t, id, func(w registry.Worker) bool { return !w.Online }, "offline after stopping")
	require.NoError(t, b.reg.Remove(ctx, id))
	_, err := b.reg.Get(ctx, id)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	b.queueEmpty(t)
}

// fakeSampler reports what the test sets.
type fakeSampler struct {
	mu sync.Mutex
	u  registry.Usage
}

func (f *fakeSampler) Sample() (registry.Usage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.u, nil
}

func (f *fakeSampler) set(u registry.Usage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.u = u
}

func TestCapacityHoldsNewWorkBack(t *testing.T) {
	t.Parallel()
	idle := registry.Usage{CPUPercent: 10, CPUKnown: true, FreeMemory: 4 << 30, MemoryKnown: true}
	for _, tc := range []struct {
		name string
		busy registry.Usage
	}{
		{"cpu over 70%", registry.Usage{CPUPercent: 95, CPUKnown: true, FreeMemory: 4 << 30, MemoryKnown: true}},
		{"memory under 100 MiB", registry.Usage{CPUPercent: 10, CPUKnown: true, FreeMemory: 50 << 20, MemoryKnown: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			sampler := &fakeSampler{u: tc.busy}
			w, _ := b.startWorker(t, b.runner, worker.Config{ID: "w-busy", Sampler: sampler,
				SampleInterval: 50 * time.Millisecond})

			e := b.submit(t, "true")
			require.Never(t, func() bool {
				got, err := b.store.Get(ctx, e.ID)
				// assert: this runs in Never's goroutine.
				return !assert.NoError(t, err) || got.Status != execution.Pending || w.Accepting()
			}, 1500*time.Millisecond, 50*time.Millisecond, "a busy worker took work")

			sampler.set(idle)
			require.Eventually(t, w.Accepting, 5*time.Second, 20*time.Millisecond)
			got := b.waitStatus(t, e.ID, execution.Succeeded)
			require.Equal(t, "w-busy", got.WorkerID)
			b.queueEmpty(t)
		})
	}
}

func TestRegistryConfigIsValidated(t *testing.T) {
	t.Parallel()
	_, err := worker.New(nil, nil, nil, worker.Config{ID: "bad id", Registry: execmem.New(nil).Registry(), MaxCPU: 120})
	require.ErrorContains(t, err, "max CPU 120%")
	_, err = worker.New(nil, nil, nil, worker.Config{ID: "bad id", Registry: execmem.New(nil).Registry(), Pools: []string{pool}})
	require.ErrorIs(t, err, registry.ErrInvalid)
}

// A stop request reaches the running worker within seconds: the package's
// processes are killed and the execution ends canceled.
func TestStopRunningExecution(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t, b.runner, worker.Config{ID: "w1"})
	pidFile := filepath.Join(t.TempDir(), "pid")
	e := b.submit(t, "sh", "-c", "sleep 60 & echo $! > "+pidFile+"; wait")
	b.waitStatus(t, e.ID, execution.Running)
	var child int
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(data), "\n") {
			return false
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)

	asked := time.Now()
	_, err := b.store.Stop(context.Background(), e.ID, asked)
	require.NoError(t, err)
	got := b.waitStatus(t, e.ID, execution.Canceled)
	require.Less(t, time.Since(asked), 5*time.Second, "canceled within 5 s")
	require.Equal(t, "stopped by request", got.Error)
	require.Eventually(t, func() bool {
		return !proctest.Alive(child)
	}, time.Second, 10*time.Millisecond, "the package's child process is gone")
	b.queueEmpty(t)
}

// An execution's timeout bounds its run: it fails with the reason.
func TestExecutionTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t, b.runner, worker.Config{ID: "w1"})
	e := execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "worker-test", Pool: pool,
		Status: execution.Pending, Definition: pkgrun.CommandDefinition("slow", []string{"sleep", "30"}),
		TimeoutMS: 300, CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	require.NoError(t, b.store.Create(context.Background(), e))
	require.NoError(t, b.queue.Send(context.Background(), taskqueue.Task{ExecutionID: e.ID, Pool: pool}))
	got := b.waitStatus(t, e.ID, execution.Failed)
	require.Equal(t, "execution timeout after 300ms", got.Error)
	b.queueEmpty(t)
}

// With a Protector, the worker's task is protected from scale-in while a
// run goes (renewed before it expires) and released when it is idle again.
func TestScaleInProtectionWhileRunning(t *testing.T) {
	t.Parallel()
	b := setup(t)
	agent := agenttest.New(t)
	started, finish := make(chan string, 1), make(chan struct{})
	runner := runnerFunc(func(ctx context.Context, e execution.Execution) execution.Result {
		started <- e.ID
		select {
		case <-finish:
		case <-ctx.Done():
		}
		return execution.Result{Status: execution.Succeeded}
	})
	b.start(t, runner, worker.Config{ID: "w1", Protector: scalein.ECSAgent{URI: agent.URI},
		ProtectFor: 400 * time.Millisecond})

	// Idle: the first call, at start, clears any protection left over.
	require.Eventually(t, func() bool { return len(agent.Puts()) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.False(t, agent.Puts()[0].Enabled)

	e := b.submit(t, "ignored")
	require.Equal(t, e.ID, <-started)
	require.Eventually(t, func() bool { on, _ := agent.State(); return on }, 10*time.Second, 10*time.Millisecond,
		"not protected while running")
	// Renewed every ProtectFor/2 while the run goes on.
	require.Eventually(t, func() bool {
		n := 0
		for _, p := range agent.Puts() {
			if p.Enabled {
				n++
			}
		}
		return n >= 3
	}, 10*time.Second, 10*time.Millisecond, "protection not renewed")

	close(finish)
	b.waitStatus(t, e.ID, execution.Succeeded)
	require.Eventually(t, func() bool { on, _ := agent.State(); return !on }, 10*time.Second, 10*time.Millisecond,
		"still protected after the run")
	puts := agent.Puts()
	require.False(t, puts[len(puts)-1].Enabled)
	b.queueEmpty(t)
}

type runnerFunc func(context.Context, execution.Execution) execution.Result

func (f runnerFunc) Run(ctx context.Context, e execution.Execution) execution.Result {
	return f(ctx, e)
}
