package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/wait"
)

// DefaultMaxParallel is the cap on leaf tasks running at once when neither
// the package nor RunOptions set one: four per CPU, since tasks mostly wait
// on processes and networks.
var DefaultMaxParallel = 4 * runtime.NumCPU()

// DefaultCancelGrace is how long Run waits, once the package is canceled or
// times out, for running tasks to return before it gives up on them.
const DefaultCancelGrace = 10 * time.Second

// MaxBackoff caps the doubling of retry backoffs (a configured backoff
// longer than this is still used as it is).
const MaxBackoff = 5 * time.Minute

// RunOptions configures one run of a Plan.
type RunOptions struct {
	// Params are the execution's parameter values, already typed (see
	// pkgfile.Bind). A declared parameter missing here takes its default.
	Params map[string]any
	// Sensitive values are replaced with "***" in every event, error and
	// result. The values of parameters declared sensitive are added
	// automatically when they are strings.
	Sensitive []string
	// Sink receives the events; nil drops them.
	Sink EventSink
	// MaxParallel overrides the package's max_parallel when above 0.
	MaxParallel int
	// Now is the clock for event times and task start and end; nil is
	// time.Now. It is called from many goroutines.
	Now func() time.Time
	// Sleep waits between retry attempts; it must return ctx's error when
	// ctx ends first. Nil waits on a timer. It is called from many
	// goroutines.
	Sleep func(ctx context.Context, d time.Duration) error
	// System is what expressions see of the run (system.execution_id, ...).
	System expression.SystemInfo
	// CancelGrace is how long to wait for running tasks to return once the
	// run is canceled; 0 is DefaultCancelGrace. Tasks still running after
	// it are reported canceled and left behind.
	CancelGrace time.Duration
	// Dir is the run's scratch directory, given to every task
	// (task.Input.Dir); empty when there is none.
	Dir string
	// ConnectionLimits bound the pool of each of the package's database
	// connections; zero fields take connection.Limits' defaults.
	ConnectionLimits connection.Limits
}

var (
	errPackageTimeout = errors.New("package timeout")
	errTaskTimeout    = errors.New("task timeout")
)

// Run runs the plan and returns how it ended. The error is non-nil only
// when the plan could not run at all (a nil plan); a package that ran and
// failed, timed out or was canceled returns its Result with a nil error.
func Run(ctx context.Context, plan *Plan, opts RunOptions) (Result, error) {
	if plan == nil {
		return Result{}, errors.New("run: no plan; compile the package first")
	}
	r := newRun(plan, opts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if plan.timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeoutCause(ctx, plan.timeout, errPackageTimeout)
		defer cancelTimeout()
	}
	r.ctx = ctx

	started := r.now()
	r.emit(Event{Time: started, Kind: PackageStarted, Message: r.red.str(plan.name)})

	r.mu.Lock()
	r.root = r.newScope(plan.root, nil, -1, "", nil)
	set, err := r.openConnections(opts.ConnectionLimits)
	if err != nil {
		r.mu.Unlock()
		return r.failAtStart(started, fmt.Sprintf("connections: %v", err)), nil
	}
	if set != nil {
		r.conns = set
		defer r.closeConnections()
	}
	r.startScope(r.root)
	r.drain()
	r.wake(false)
	r.mu.Unlock()

	select {
	case <-r.done:
	case <-ctx.Done():
		r.stop()
		grace := opts.CancelGrace
		if grace <= 0 {
			grace = DefaultCancelGrace
		}
		t := time.NewTimer(grace)
		select {
		case <-r.done:
		case <-t.C:
			r.abandon(grace)
		}
		t.Stop()
	}

	r.mu.Lock()
	res := r.result(started)
	r.mu.Unlock()
	r.emitMu.Lock()
	r.emitLocked(Event{Time: res.Ended, Kind: PackageEnded, Status: res.Status,
		Duration: res.Ended.Sub(res.Started), Message: res.Error})
	r.closed = true
	r.emitMu.Unlock()
	return res, nil
}

type run struct {
	plan  *Plan
	ctx   context.Context
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	red   redactor
	// secrets are what red masks.
	secrets []string
	params  map[string]any
	dir     string
	// conns is the run's connections; nil when the package declares none.
	conns  *connection.Set
	vars   varStore
	system expression.SystemInfo

	// mu guards the scheduling state below and every scopeRun.
	mu         sync.Mutex
	cond       sync.Cond
	queue      readyQueue
	work       []ref // ended nodes whose successors are still to be decided
	newWork    int   // leaves queued since the last wake
	workers    int
	maxWorkers int
	idle       int // workers waiting on cond and not yet signaled
	stopping   bool
	stopReason string
	finished   bool
	abandoned  bool
	root       *scopeRun
	done       chan struct{}
	status     Status // the root scope's outcome
	reason     string

	// tasksMu guards the scopes' tasks views against readers outside mu
	// (rendering settings, Input.Eval); writers hold mu and tasksMu.
	tasksMu sync.RWMutex

	emitMu sync.Mutex
	sink   EventSink
	closed bool
}

func newRun(plan *Plan, opts RunOptions) *run {
	r := &run{plan: plan, now: opts.Now, sleep: opts.Sleep, sink: opts.Sink, system: opts.System, dir: opts.Dir, done: make(chan struct{})}
	if r.now == nil {
		r.now = time.Now
	}
	if r.sleep == nil {
		r.sleep = wait.For
	}
	if r.sink == nil {
		r.sink = discard{}
	}
	r.cond.L = &r.mu
	r.maxWorkers = opts.MaxParallel
	if r.maxWorkers <= 0 {
		r.maxWorkers = plan.maxParallel
	}
	if r.maxWorkers <= 0 {
		r.maxWorkers = DefaultMaxParallel
	}
	r.maxWorkers = max(r.maxWorkers, 1)

	r.params = make(map[string]any, len(plan.params))
	for name, p := range plan.params {
		if p.Default != nil {
			r.params[name] = p.Default
		}
	}
	maps.Copy(r.params, opts.Params)
	secrets := append([]string(nil), opts.Sensitive...)
	for name, p := range plan.params {
		if s, ok := r.params[name].(string); ok && p.Sensitive {
			secrets = append(secrets, s)
		}
	}
	r.secrets = secrets
	r.red = newRedactor(secrets)
	vars := maps.Clone(plan.varInit)
	r.vars.p.Store(&vars)
	return r
}

// emit redacts e and hands it to the sink.
func (r *run) emit(e Event) {
	r.emitMu.Lock()
	r.emitLocked(e)
	r.emitMu.Unlock()
}

func (r *run) emitLocked(e Event) {
	if r.closed {
		return
	}
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	e.Message = r.red.str(e.Message)
	r.sink.Emit(e)
}

// varStore holds the package's variables copy-on-write: readers take the
// current map without a lock and never see it change; writers (serialized
// by mu) replace it.
type varStore struct {
	mu sync.Mutex
	p  atomic.Pointer[map[string]any]
}

func (v *varStore) load() map[string]any { return *v.p.Load() }

func (v *varStore) set(names []string, values []any) {
	v.mu.Lock()
	m := maps.Clone(v.load())
	if m == nil {
		m = make(map[string]any, len(names))
	}
	for i, n := range names {
		m[n] = values[i]
	}
	v.p.Store(&m)
	v.mu.Unlock()
}

// ref names one node of one scope run.
type ref struct {
	sr *scopeRun
	i  int32
}

// readyQueue is a FIFO of leaves waiting for a worker.
type readyQueue struct {
	items []ref
	head  int
}

func (q *readyQueue) push(x ref) { q.items = append(q.items, x) }

func (q *readyQueue) len() int { return len(q.items) - q.head }

func (q *readyQueue) pop() ref {
	x := q.items[q.head]
	q.items[q.head] = ref{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head >= 1024 && q.head*2 >= len(q.items) {
		n := copy(q.items, q.items[q.head:])
		q.items, q.head = q.items[:n], 0
	}
	return x
}

type nodeState uint8

const (
	pending nodeState = iota
	queued
	running
	ended
)

// nodeRun is one task of one scope run.
type nodeRun struct {
	state   nodeState
	ran     bool // its constraints held and it started (it handles failures)
	waiting int32
	// passes makes a disabled task count as succeeded for its successors.
	passes bool
	res    TaskResult
	out    task.Output
	cont   *containerRun
}

// scopeRun is one run of a scope: the top level, a sequence, or one
// foreach iteration.
type scopeRun struct {
	sc     *scope
	parent *scopeRun
	pnode  int32 // the container's node in parent
	prefix string
	item   any
	nodes  []nodeRun
	ended  int
	tasks  map[string]any // the tasks view, when sc.needsTasks
	// txs are the transactions of the sequences the scope is in, by
	// connection; ownTx is the one this scope (a sequence's) ends.
	txs   map[string]*seqTx
	ownTx *seqTx
}

// containerRun is a started sequence or foreach.
type containerRun struct {
	items    []any
	next     int // next foreach iteration to start
	active   int
	failed   int
	firstErr string
	children []*scopeRun
}

func (r *run) newScope(sc *scope, parent *scopeRun, pnode int32, prefix string, item any) *scopeRun {
	sr := &scopeRun{sc: sc, parent: parent, pnode: pnode, prefix: prefix, item: item, nodes: make([]nodeRun, len(sc.nodes))}
	if sc.needsTasks {
		if parent != nil && parent.tasks != nil {
			sr.tasks = maps.Clone(parent.tasks)
		} else {
			sr.tasks = make(map[string]any, len(sc.nodes))
		}
	}
	if parent != nil {
		sr.txs = parent.txs
	}
	return sr
}

func (r *run) path(sr *scopeRun, i int32) string {
	if sr.prefix == "" {
		return sr.sc.nodes[i].name
	}
	return sr.prefix + sr.sc.nodes[i].name
}

// startScope readies the tasks without constraints. Called with mu held.
func (r *run) startScope(sr *scopeRun) {
	for i := range sr.sc.nodes {
		sr.nodes[i].waiting = int32(len(sr.sc.nodes[i].after))
		sr.nodes[i].res.Type = sr.sc.nodes[i].typeName
	}
	for i := range sr.sc.nodes {
		if sr.nodes[i].waiting == 0 && sr.nodes[i].state == pending {
			r.ready(sr, int32(i))
		}
	}
	if len(sr.sc.nodes) == 0 {
		r.scopeDone(sr)
	}
}

// ready starts a task whose constraints all held. Called with mu held.
func (r *run) ready(sr *scopeRun, i int32) {
	n := &sr.sc.nodes[i]
	st := &sr.nodes[i]
	r.checkStop()
	switch {
	case r.stopping:
		r.end(sr, i, Skipped, "not started: "+r.stopReason)
		return
	case n.disabled:
		st.passes = true
		r.end(sr, i, Skipped, "disabled (its successors see it as succeeded)")
		return
	}
	st.ran = true
	if n.kind == leafNode {
		st.state = queued
		r.queue.push(ref{sr, i})
		r.newWork++
		return
	}
	r.startContainer(sr, i)
}

// end records how a task that did not run a leaf attempt ended (skipped,
// failed before starting, or a container) and queues its successors'
// decisions. Called with mu held.
func (r *run) end(sr *scopeRun, i int32, status Status, msg string) {
	st := &sr.nodes[i]
	st.state = ended
	st.res.Status = status
	st.res.Error = r.red.str(msg)
	path := r.path(sr, i)
	switch status {
	case Skipped:
		r.emit(Event{Kind: TaskSkipped, Task: r.red.str(path), Status: status, Message: msg})
	default:
		// A container, or a task that failed before it could start (its
		// `when` could not be evaluated), which still gets its
		// task_started so that every task_ended has one.
		st.res.Ended = r.now()
		if st.res.Started.IsZero() {
			st.res.Started = st.res.Ended
			r.emit(Event{Time: st.res.Ended, Kind: TaskStarted, Task: r.red.str(path)})
		}
		if status == Failed {
			r.emit(Event{Time: st.res.Ended, Kind: Error, Task: r.red.str(path), Attempt: st.res.Attempts, Message: msg})
		}
		r.emit(Event{Time: st.res.Ended, Kind: TaskEnded, Task: r.red.str(path), Attempt: st.res.Attempts,
			Status: status, Duration: duration(&st.res), Message: msg})
	}
	r.work = append(r.work, ref{sr, i})
}

// drain decides the successors of every ended task, and finishes scopes
// whose tasks have all ended, until nothing is left to decide. Called with
// mu held.
func (r *run) drain() {
	for len(r.work) > 0 {
		x := r.work[len(r.work)-1]
		r.work = r.work[:len(r.work)-1]
		r.afterEnd(x.sr, x.i)
	}
}

func (r *run) afterEnd(sr *scopeRun, i int32) {
	n := &sr.sc.nodes[i]
	st := &sr.nodes[i]
	if sr.tasks != nil {
		entry := map[string]any{
			"status":      string(st.res.Status),
			"outputs":     map[string]any(st.out),
			"duration_ms": duration(&st.res).Milliseconds(),
			"error":       st.res.Error,
		}
		r.tasksMu.Lock()
		sr.tasks[n.name] = entry
		r.tasksMu.Unlock()
	}
	for _, e := range sr.sc.edges[n.succLo:n.succHi] {
		next := &sr.nodes[e.to]
		if next.state != pending {
			continue // already skipped or failed by another constraint
		}
		if r.stopping {
			r.end(sr, e.to, Skipped, "not started: "+r.stopReason)
			continue
		}
		k := &sr.sc.nodes[e.to].after[e.c]
		ok, why, err := r.holds(sr, st, k)
		if err != nil {
			r.end(sr, e.to, Failed, fmt.Sprintf("after %s: %v", k.name, err))
			continue
		}
		if !ok {
			r.end(sr, e.to, Skipped, why)
			continue
		}
		next.waiting--
		if next.waiting == 0 {
			r.ready(sr, e.to)
		}
	}
	sr.ended++
	if sr.ended == len(sr.nodes) {
		r.scopeDone(sr)
	}
}

func duration(t *TaskResult) time.Duration {
	if t.Started.IsZero() || t.Ended.IsZero() {
		return 0
	}
	return t.Ended.Sub(t.Started)
}

// holds decides one constraint once its predecessor ended.
func (r *run) holds(sr *scopeRun, pred *nodeRun, k *constraint) (bool, string, error) {
	status := pred.res.Status
	if pred.passes {
		status = Succeeded
	}
	var ok bool
	switch k.on {
	case pkgfile.OnSuccess:
		ok = status == Succeeded
	case pkgfile.OnFailure:
		ok = status == Failed
	case pkgfile.OnCompletion:
		ok = status == Succeeded || status == Failed
	}
	if !ok {
		if status == Skipped {
			return false, fmt.Sprintf("%s was skipped", k.name), nil
		}
		return false, fmt.Sprintf("waits for %s on %s, and it %s", k.name, k.on, status), nil
	}
	if k.when == nil {
		return true, "", nil
	}
	ok, err := k.when.EvalBool(r.env(sr))
	if err != nil {
		return false, "", err
	}
	if !ok {
		return false, fmt.Sprintf("after %s: when %q is false", k.name, k.when.Source()), nil
	}
	return true, "", nil
}

// env is the expression environment of a scope run. Outside mu, hold
// tasksMu for reading while it is used.
func (r *run) env(sr *scopeRun) expression.Env {
	return expression.Env{Params: r.params, Vars: r.vars.load(), Tasks: sr.tasks, Item: sr.item, System: r.system}
}

// startContainer starts a sequence or foreach. Called with mu held.
func (r *run) startContainer(sr *scopeRun, i int32) {
	n := &sr.sc.nodes[i]
	st := &sr.nodes[i]
	st.state = running
	st.cont = &containerRun{}
	st.res.Attempts = 1
	st.res.Started = r.now()
	path := r.path(sr, i)
	r.emit(Event{Time: st.res.Started, Kind: TaskStarted, Task: r.red.str(path), Attempt: 1})
	if n.kind == sequenceNode {
		r.startChild(sr, i, path+"/", sr.item)
		return
	}
	items, err := n.items.EvalList(r.env(sr))
	if err != nil {
		r.end(sr, i, Failed, fmt.Sprintf("%s: items: %v", path, err))
		return
	}
	st.cont.items = items
	if len(items) == 0 {
		r.end(sr, i, Succeeded, "")
		return
	}
	if n.parallel {
		for range items {
			r.startIteration(sr, i, path)
		}
		return
	}
	r.startIteration(sr, i, path)
}

func (r *run) startIteration(sr *scopeRun, i int32, path string) {
	c := sr.nodes[i].cont
	k := c.next
	c.next++
	item := c.items[k]
	label, ok := item.(string)
	if !ok {
		label = strconv.Itoa(k)
	}
	r.startChild(sr, i, path+"["+label+"]/", item)
}

func (r *run) startChild(sr *scopeRun, i int32, prefix string, item any) {
	c := sr.nodes[i].cont
	child := r.newScope(sr.sc.nodes[i].body, sr, i, prefix, item)
	if name := sr.sc.nodes[i].txConn; name != "" && child.txs[name] == nil && r.conns != nil {
		// A sequence inside another's transaction on the same connection
		// joins it; otherwise it has its own.
		child.ownTx = newSeqTx(r.ctx, r.conns, name)
		child.txs = maps.Clone(child.txs)
		if child.txs == nil {
			child.txs = map[string]*seqTx{}
		}
		child.txs[name] = child.ownTx
	}
	c.children = append(c.children, child)
	c.active++
	r.startScope(child)
}

// scopeDone applies the result rule to a scope run whose tasks all ended,
// and ends its container or the package. Called with mu held.
func (r *run) scopeDone(sr *scopeRun) {
	status, msg := Succeeded, ""
	if r.stopping {
		status, msg = Canceled, r.stopReason
	} else if f := unhandled(sr); f >= 0 {
		status = Failed
		msg = r.path(sr, f) + ": " + sr.nodes[f].res.Error
		if sr.nodes[f].cont != nil {
			msg = sr.nodes[f].res.Error // a container's error names its own failed task
		}
	}
	if tx := sr.ownTx; tx != nil {
		// The transaction ends before the sequence does (its outcome may
		// fail it), away from mu: ending it talks to the server.
		sr.ownTx = nil
		go func() {
			err := tx.end(status == Succeeded)
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.finished || r.abandoned {
				return
			}
			if err != nil && status == Succeeded {
				status, msg = Failed, r.path(sr.parent, sr.pnode)+": "+err.Error()
			}
			r.scopeEnded(sr, status, msg)
			r.drain()
			r.wake(false)
		}()
		return
	}
	r.scopeEnded(sr, status, msg)
}

// scopeEnded ends the container of a scope run whose tasks all ended, or
// the package. Called with mu held.
func (r *run) scopeEnded(sr *scopeRun, status Status, msg string) {
	if r.stopping && status == Succeeded {
		status, msg = Canceled, r.stopReason
	}
	if sr.parent == nil {
		r.status, r.reason = status, msg
		r.finished = true
		r.cond.Broadcast()
		r.idle = 0
		close(r.done)
		return
	}
	p, i := sr.parent, sr.pnode
	c := p.nodes[i].cont
	c.active--
	if status == Failed {
		c.failed++
		if c.firstErr == "" {
			c.firstErr = msg
		}
	}
	n := &p.sc.nodes[i]
	if n.kind == foreachNode && c.next < len(c.items) && !r.stopping {
		if n.parallel {
			return // startContainer is still starting iterations
		}
		if status == Succeeded {
			r.startIteration(p, i, r.path(p, i))
			return
		}
	}
	if c.active > 0 {
		return
	}
	switch {
	case r.stopping:
		r.end(p, i, Canceled, r.stopReason)
	case c.failed > 0 && n.kind == foreachNode:
		msg := fmt.Sprintf("%d of %d iterations failed; first: %s", c.failed, len(c.items), c.firstErr)
		if skipped := len(c.items) - c.next; skipped > 0 {
			msg += fmt.Sprintf(" (%d not run)", skipped)
		}
		r.end(p, i, Failed, msg)
	case c.failed > 0:
		r.end(p, i, Failed, c.firstErr)
	default:
		r.end(p, i, Succeeded, "")
	}
}

// unhandled returns the first failed task of a scope run whose failure no
// handler took, or -1. A failure is handled when a task of the same scope
// has a failure or completion constraint on it and that task ran.
func unhandled(sr *scopeRun) int32 {
	for i := range sr.nodes {
		if sr.nodes[i].res.Status != Failed {
			continue
		}
		n := &sr.sc.nodes[i]
		handled := false
		for _, e := range sr.sc.edges[n.succLo:n.succHi] {
			if sr.sc.nodes[e.to].after[e.c].on != pkgfile.OnSuccess && sr.nodes[e.to].ran {
				handled = true
				break
			}
		}
		if !handled {
			return int32(i)
		}
	}
	return -1
}

// wake gets workers for the leaves queued since the last call: idle ones
// first, then new ones up to the cap. A worker that will take a leaf
// itself passes self. Called with mu held.
func (r *run) wake(self bool) {
	n := r.newWork
	r.newWork = 0
	if self && n > 0 {
		n--
	}
	for ; n > 0 && r.idle > 0; n-- {
		r.idle--
		r.cond.Signal()
	}
	for ; n > 0 && r.workers < r.maxWorkers; n-- {
		r.workers++
		go r.worker()
	}
}

// worker runs leaves from the queue until the run ends. Since there are
// at most maxWorkers workers, at most that many leaves run at once.
func (r *run) worker() {
	r.mu.Lock()
	for {
		for r.queue.len() == 0 && !r.finished && !r.abandoned {
			r.idle++
			r.cond.Wait()
		}
		if r.finished || r.abandoned {
			r.workers--
			r.mu.Unlock()
			return
		}
		if r.checkStop(); r.queue.len() == 0 {
			r.drain() // stopping skipped what was queued
			continue
		}
		x := r.queue.pop()
		st := &x.sr.nodes[x.i]
		st.state = running
		l := leafRun{r: r, sr: x.sr, i: x.i, n: &x.sr.sc.nodes[x.i], path: r.path(x.sr, x.i)}
		r.mu.Unlock()

		res, out := r.execLeaf(&l)

		r.mu.Lock()
		if r.abandoned {
			r.workers--
			r.mu.Unlock()
			return
		}
		r.checkStop()
		st.out = out
		st.res = res
		st.state = ended
		r.work = append(r.work, x)
		r.drain()
		r.wake(true)
	}
}

// stop cancels the run: nothing new starts, queued leaves are skipped,
// running ones see their context end.
func (r *run) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
	r.drain()
}

// checkStop notices a canceled run before Run's goroutine does, so that a
// worker never starts anything once the context ended. Called with mu
// held.
func (r *run) checkStop() {
	if !r.stopping && r.ctx.Err() != nil {
		r.stopLocked()
	}
}

func (r *run) stopLocked() {
	if r.finished || r.stopping {
		return
	}
	r.stopping = true
	if errors.Is(context.Cause(r.ctx), errPackageTimeout) {
		r.stopReason = fmt.Sprintf("package timeout after %s", r.plan.timeout)
	} else {
		r.stopReason = "package canceled"
		if cause := context.Cause(r.ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			r.stopReason += ": " + cause.Error()
		}
	}
	for r.queue.len() > 0 {
		x := r.queue.pop()
		r.end(x.sr, x.i, Skipped, "not started: "+r.stopReason)
	}
	r.newWork = 0
}

// abandon gives up on tasks that did not return within the grace period.
func (r *run) abandon(grace time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.abandoned = true
	r.cond.Broadcast()
	r.idle = 0
	r.status = Canceled
	r.reason = fmt.Sprintf("%s; tasks still running %s later were left behind", r.stopReason, grace)
	r.abandonScope(r.root, grace)
}

func (r *run) abandonScope(sr *scopeRun, grace time.Duration) {
	for i := range sr.nodes {
		st := &sr.nodes[i]
		switch st.state {
		case running:
			st.state = ended
			st.res.Status = Canceled
			st.res.Ended = r.now()
			st.res.Error = fmt.Sprintf("did not stop within %s of the cancel", grace)
		case pending, queued:
			st.state = ended
			st.res.Status = Skipped
			st.res.Error = "not started: " + r.stopReason
		}
		if st.cont != nil {
			for _, c := range st.cont.children {
				r.abandonScope(c, grace)
			}
		}
	}
}

// result builds the Result. Called with mu held, once the run is over.
func (r *run) result(started time.Time) Result {
	res := Result{Status: r.status, Started: started, Ended: r.now(), Error: r.reason}
	switch {
	case r.abandoned:
		res.Status = Canceled
	case r.stopping:
		res.Status, res.Error = Canceled, r.stopReason
	}
	if (r.stopping || r.abandoned) && errors.Is(context.Cause(r.ctx), errPackageTimeout) {
		res.Status = Failed // a timeout is a failure, not a cancel
	}
	res.Error = r.red.str(res.Error)
	n := 0
	countTasks(r.root, &n)
	res.Tasks = make([]TaskResult, 0, n)
	r.collect(r.root, &res.Tasks)
	res.Vars = r.red.values(maps.Clone(r.vars.load()))
	return res
}

func countTasks(sr *scopeRun, n *int) {
	*n += len(sr.nodes)
	for i := range sr.nodes {
		if c := sr.nodes[i].cont; c != nil {
			for _, ch := range c.children {
				countTasks(ch, n)
			}
		}
	}
}

func (r *run) collect(sr *scopeRun, out *[]TaskResult) {
	for i := range sr.nodes {
		st := &sr.nodes[i]
		tr := st.res
		tr.Path = r.red.str(r.path(sr, int32(i)))
		tr.Outputs = r.red.values(map[string]any(st.out))
		*out = append(*out, tr)
		if st.cont != nil {
			for _, c := range st.cont.children {
				r.collect(c, out)
			}
		}
	}
}

// leafRun is one leaf task being run by a worker.
type leafRun struct {
	r    *run
	sr   *scopeRun
	i    int32
	n    *node
	path string
}

// attemptLog forwards a task's log lines as events.
type attemptLog struct {
	l       *leafRun
	attempt int
}

func (a attemptLog) Output(stream, line string) {
	a.l.r.emit(Event{Kind: Output, Task: a.l.r.red.str(a.l.path), Attempt: a.attempt, Stream: stream, Message: line})
}

func (a attemptLog) Warn(message string) {
	a.l.r.emit(Event{Kind: Warning, Task: a.l.r.red.str(a.l.path), Attempt: a.attempt, Message: message})
}

// eval is Input.Eval: an expression in the task's environment.
func (l *leafRun) eval(src string) (any, error) {
	p, err := l.r.plan.program(src)
	if err != nil {
		return nil, err
	}
	l.r.tasksMu.RLock()
	defer l.r.tasksMu.RUnlock()
	return p.Eval(l.r.env(l.sr))
}

// permanent marks an engine-side failure (settings that do not render,
// outputs that do not map) that retrying cannot fix.
type permanent struct{ error }

func (permanent) Is(target error) bool { return target == task.ErrPermanent }
func (p permanent) Unwrap() error      { return p.error }

// execLeaf runs a leaf's attempts, maps its outputs and reports it. It
// runs on a worker, without mu.
func (r *run) execLeaf(l *leafRun) (TaskResult, task.Output) {
	n := l.n
	res := TaskResult{Type: n.typeName, Started: r.now()}
	path := r.red.str(l.path)
	r.emit(Event{Time: res.Started, Kind: TaskStarted, Task: path, Attempt: 1})
	var out task.Output
	var err error
	res.Status = Succeeded
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		if attempt > 1 {
			// The configured backoff, doubled for each further retry, at
			// most MaxBackoff (or the backoff itself when that is longer).
			pause := wait.Backoff(n.backoff, max(n.backoff, MaxBackoff), attempt-1)
			r.emit(Event{Kind: TaskRetry, Task: path, Attempt: attempt, Duration: pause, Message: err.Error()})
			if pause > 0 {
				if r.sleep(r.ctx, pause) != nil || r.ctx.Err() != nil {
					res.Status = Canceled
					break
				}
			}
		}
		out, err = r.attempt(l, attempt)
		if err == nil {
			break
		}
		if r.ctx.Err() != nil {
			res.Status = Canceled
			break
		}
		if attempt >= n.attempts || errors.Is(err, task.ErrPermanent) {
			res.Status = Failed
			break
		}
		r.emit(Event{Kind: Error, Task: path, Attempt: attempt, Message: err.Error()})
	}
	if res.Status == Succeeded {
		if e := r.applyOutputs(n, out); e != nil {
			res.Status, err = Failed, e
		}
	}
	res.Ended = r.now()
	switch res.Status {
	case Canceled:
		res.Error = "canceled: " + r.stopCause()
	case Failed:
		res.Error = r.red.str(err.Error())
		r.emit(Event{Time: res.Ended, Kind: Error, Task: path, Attempt: res.Attempts, Message: res.Error})
	}
	r.emit(Event{Time: res.Ended, Kind: TaskEnded, Task: path, Attempt: res.Attempts, Status: res.Status,
		Duration: res.Ended.Sub(res.Started), Message: res.Error})
	return res, out
}

func (r *run) stopCause() string {
	if errors.Is(context.Cause(r.ctx), errPackageTimeout) {
		return fmt.Sprintf("package timeout after %s", r.plan.timeout)
	}
	return "package canceled"
}

// attempt renders the settings and runs one attempt.
func (r *run) attempt(l *leafRun, attempt int) (out task.Output, err error) {
	n := l.n
	var with map[string]any
	if n.with != nil {
		r.tasksMu.RLock()
		v, err := n.with.render(r.env(l.sr))
		r.tasksMu.RUnlock()
		if err != nil {
			return nil, permanent{fmt.Errorf("with: %w", err)}
		}
		with = v.(map[string]any)
	}
	ctx := r.ctx
	if n.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, n.timeout, errTaskTimeout)
		defer cancel()
	}
	in := task.Input{
		Task:    l.path,
		Attempt: attempt,
		With:    with,
		Vars:    cloneVars(r.vars.load()),
		Eval:    l.eval,
		Log:     attemptLog{l, attempt},
		Dir:     r.dir,
	}
	switch {
	case l.sr.txs != nil:
		in.Connections = txConnections{Set: r.conns, txs: l.sr.txs}
	case r.conns != nil:
		in.Connections = r.conns
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, permanent{fmt.Errorf("task type %q panicked: %v", n.typeName, p)}
		}
	}()
	out, err = n.typ.Run(ctx, in)
	if err != nil && n.timeout > 0 && r.ctx.Err() == nil && errors.Is(context.Cause(ctx), errTaskTimeout) {
		err = fmt.Errorf("timed out after %s (the task's timeout): %v", n.timeout, err)
	}
	return out, err
}

func cloneVars(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// applyOutputs writes the task's outputs, and a set task's values, into
// the variables.
func (r *run) applyOutputs(n *node, out task.Output) error {
	if len(n.outputs) == 0 && !n.setVars {
		return nil
	}
	var names []string
	var values []any
	for _, o := range n.outputs {
		v, err := lookup(map[string]any(out), o.path)
		if err != nil {
			return permanent{fmt.Errorf("outputs.%s: path %q: %v", o.variable, o.src, err)}
		}
		cv, err := convert(v, r.plan.varTypes[o.variable])
		if err != nil {
			return permanent{fmt.Errorf("outputs.%s: variable is a %s: %v", o.variable, r.plan.varTypes[o.variable], err)}
		}
		names, values = append(names, o.variable), append(values, cv)
	}
	if n.setVars {
		if raw := out["values"]; raw != nil {
			set, ok := raw.(map[string]any)
			if !ok {
				return permanent{fmt.Errorf("set: output \"values\" is a %T, want a map of variable to value", raw)}
			}
			for _, name := range slices.Sorted(maps.Keys(set)) {
				t, declared := r.plan.varTypes[name]
				if !declared {
					return permanent{fmt.Errorf("set: variable %q is not declared; declare it under variables", name)}
				}
				cv, err := convert(set[name], t)
				if err != nil {
					return permanent{fmt.Errorf("set: variable %q is a %s: %v", name, t, err)}
				}
				names, values = append(names, name), append(values, cv)
			}
		}
	}
	if len(names) > 0 {
		r.vars.set(names, values)
	}
	return nil
}
