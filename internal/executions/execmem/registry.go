package execmem

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Registry is the worker registry in memory, sharing its Store's lock: the
// sessions that hold the store's executions. It follows package registry's
// rules (see its doc). It is safe for concurrent use.
type Registry struct {
	st *state
	// Retention is how long after its last heartbeat a worker is kept:
	// after it, it is gone to every read and write but Register, as an
	// item DynamoDB's TTL has yet to delete. Zero keeps it until removed.
	Retention time.Duration
}

// workerItem is one worker as stored: times to the millisecond, as the
// DynamoDB registry keeps them.
type workerItem struct {
	id, displayName, description string
	tags                         map[string]string
	enabled                      bool
	machine, version             string
	pools                        []string
	maxTasks, running            int
	registered, heartbeat        time.Time
	signedOff                    time.Time // zero: did not sign off
	expiresAt                    int64     // unix s; 0: never
	// The session.
	session    string
	leaseUntil time.Time
	lease      time.Duration
	runs       map[string]int
	stops      map[string]bool
}

func (it *workerItem) expired(now time.Time) bool {
	return it.expiresAt != 0 && it.expiresAt <= now.Unix()
}

func (it *workerItem) worker(now time.Time) registrytype.Worker {
	w := registrytype.Worker{
		ID: it.id, DisplayName: it.displayName, Description: it.description, Tags: maps.Clone(it.tags), Enabled: it.enabled,
		Machine: it.machine, Pools: slices.Clone(it.pools), MaxTasks: it.maxTasks, Version: it.version, Running: it.running,
		RegisteredAt: it.registered, LastHeartbeat: it.heartbeat,
	}
	if w.Tags == nil {
		w.Tags = map[string]string{}
	}
	if w.Pools == nil {
		w.Pools = []string{}
	}
	w.Online = it.leaseUntil.After(now) && it.signedOff.Before(it.leaseUntil)
	if !w.Online {
		w.Running = 0 // what it ran is recovered by others, not run by it
	}
	return w
}

func (it *workerItem) signals() registrytype.Signals {
	return registrytype.Signals{Enabled: it.enabled, Session: it.session, Stops: nilIfEmpty(slices.Sorted(maps.Keys(it.stops)))}
}

// sessionOf is worker id's session as stored (the lock held).
func (st *state) sessionOf(id string) registrytype.SessionState {
	it, ok := st.workers[id]
	if !ok {
		return registrytype.SessionState{WorkerID: id}
	}
	ss := registrytype.SessionState{WorkerID: id, ID: it.session, LeaseUntil: it.leaseUntil,
		SignedOff: !it.signedOff.IsZero() && !it.signedOff.Before(it.leaseUntil), Renewed: it.heartbeat,
		Lease: it.lease, Exists: true}
	for _, eid := range slices.Sorted(maps.Keys(it.runs)) {
		ss.Runs = append(ss.Runs, registrytype.Run{ExecutionID: eid, Attempt: it.runs[eid]})
	}
	return ss
}

func (r *Registry) now() time.Time { return ms(r.st.now()) }

// heartbeat records one at now, and the expiry that follows it.
func (r *Registry) heartbeat(it *workerItem, now time.Time) {
	it.heartbeat = now
	it.expiresAt = 0
	if r.Retention > 0 {
		it.expiresAt = now.Add(r.Retention).Unix()
	}
}

// Register records a starting worker and opens a new session for it whose
// lease runs for lease; it returns the worker, the session and the
// worker's previous session as it was replaced (its Runs are for the
// caller to recover, unless it signed off). A previous session whose lease
// runs is registrytype.ErrSessionLive.
func (r *Registry) Register(_ context.Context, reg registrytype.Registration, lease time.Duration) (registrytype.Worker, registrytype.Session, registrytype.SessionState, error) {
	if err := reg.Validate(); err != nil {
		return registrytype.Worker{}, registrytype.Session{}, registrytype.SessionState{}, err
	}
	if lease <= 0 {
		return registrytype.Worker{}, registrytype.Session{}, registrytype.SessionState{}, fmt.Errorf("register worker %s: the lease must be positive, not %s", reg.ID, lease)
	}
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	prev := r.st.sessionOf(reg.ID)
	now := r.now()
	if prev.ID != "" && prev.Holds(prev.ID, now) {
		return registrytype.Worker{}, registrytype.Session{}, registrytype.SessionState{}, fmt.Errorf("register worker %s: %w until %s (session %s); another process with this id? "+
			"give each worker its own SCALEOUT_WORKER_ID", reg.ID, registrytype.ErrSessionLive, prev.LeaseUntil.Format(time.RFC3339), prev.ID)
	}
	if prev.SignedOff {
		prev.Runs = nil // it handed everything back
	}
	it, ok := r.st.workers[reg.ID]
	if !ok {
		it = &workerItem{id: reg.ID, displayName: reg.ID, tags: maps.Clone(reg.Tags), enabled: true, registered: now}
		if it.tags == nil {
			it.tags = map[string]string{}
		}
		r.st.workers[reg.ID] = it
	}
	sess := registrytype.Session{WorkerID: reg.ID, ID: uuid.NewString(), LeaseUntil: ms(now.Add(lease))}
	it.machine, it.pools, it.maxTasks, it.version, it.running = reg.Machine, slices.Clone(reg.Pools), reg.MaxTasks, reg.Version, 0
	it.session, it.leaseUntil, it.lease = sess.ID, sess.LeaseUntil, lease.Truncate(time.Millisecond)
	it.runs, it.stops, it.signedOff = nil, map[string]bool{}, time.Time{}
	r.heartbeat(it, now)
	return it.worker(now), sess, prev, nil
}

// Renew extends sess's lease to until, records what it runs, removes the
// stop requests it handled and returns the worker's signals. A session
// that is not the worker's current one, or whose lease ran out, is
// registrytype.ErrSessionLost; a removed worker's is scaleouttype.ErrNotFound.
func (r *Registry) Renew(_ context.Context, sess registrytype.Session, until time.Time, runs []registrytype.Run, handled []string) (registrytype.Signals, error) {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	now := r.now()
	it, ok := r.st.workers[sess.WorkerID]
	switch {
	case !ok:
		return registrytype.Signals{}, fmt.Errorf("renew session of worker %s: %w", sess.WorkerID, scaleouttype.ErrNotFound)
	case it.session != sess.ID:
		return registrytype.Signals{}, fmt.Errorf("renew session %s of worker %s: replaced by session %s: %w", sess.ID, sess.WorkerID, it.session, registrytype.ErrSessionLost)
	case !it.leaseUntil.After(now):
		return registrytype.Signals{}, fmt.Errorf("renew session %s of worker %s: its lease ran out at %s: %w", sess.ID, sess.WorkerID,
			it.leaseUntil.Format(time.RFC3339Nano), registrytype.ErrSessionLost)
	}
	it.leaseUntil = ms(until)
	it.runs = make(map[string]int, len(runs))
	for _, run := range runs {
		it.runs[run.ExecutionID] = run.Attempt
	}
	it.running = len(runs)
	for _, id := range handled {
		delete(it.stops, id)
	}
	r.heartbeat(it, now)
	return it.signals(), nil
}

// Signals reads whether worker id is enabled and which executions to stop
// (scaleouttype.ErrNotFound for a removed worker).
func (r *Registry) Signals(_ context.Context, id string) (registrytype.Signals, error) {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	it, ok := r.st.workers[id]
	if !ok {
		return registrytype.Signals{}, fmt.Errorf("worker %s: %w", id, scaleouttype.ErrNotFound)
	}
	return it.signals(), nil
}

// SessionOf reads worker id's current session; a worker with none stored
// has a SessionState with Exists false.
func (r *Registry) SessionOf(_ context.Context, id string) (registrytype.SessionState, error) {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	return r.st.sessionOf(id), nil
}

// SignOff records that a worker stopped cleanly: offline at once, nothing
// running, its session over (its lease cut to now).
func (r *Registry) SignOff(_ context.Context, sess registrytype.Session) error {
	if registrytype.ValidID(sess.WorkerID) != nil {
		return fmt.Errorf("worker %q: %w", sess.WorkerID, scaleouttype.ErrNotFound)
	}
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	it, ok := r.st.workers[sess.WorkerID]
	if !ok || it.session != sess.ID {
		return fmt.Errorf("sign-off of worker %s: %w", sess.WorkerID, scaleouttype.ErrNotFound)
	}
	now := r.now()
	it.running, it.signedOff, it.heartbeat, it.leaseUntil = 0, now, now, now
	it.runs, it.stops = nil, map[string]bool{}
	return nil
}

// live returns worker id unless it is unknown or expired (the lock held).
func (r *Registry) live(what, id string, now time.Time) (*workerItem, error) {
	if registrytype.ValidID(id) != nil {
		return nil, fmt.Errorf("worker %q: %w", id, scaleouttype.ErrNotFound)
	}
	it, ok := r.st.workers[id]
	if !ok {
		return nil, fmt.Errorf("%s %s: %w", what, id, scaleouttype.ErrNotFound)
	}
	if it.expired(now) {
		return nil, fmt.Errorf("%s %s (expired): %w", what, id, scaleouttype.ErrNotFound)
	}
	return it, nil
}

// Get reads one worker.
func (r *Registry) Get(_ context.Context, id string) (registrytype.Worker, error) {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	now := r.now()
	it, err := r.live("worker", id, now)
	if err != nil {
		return registrytype.Worker{}, err
	}
	return it.worker(now), nil
}

// List returns every worker in id order.
func (r *Registry) List(context.Context) ([]registrytype.Worker, error) {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	now := r.now()
	list := []registrytype.Worker{}
	for _, it := range r.st.workers {
		if !it.expired(now) {
			list = append(list, it.worker(now))
		}
	}
	slices.SortFunc(list, func(a, b registrytype.Worker) int { return cmp.Compare(a.ID, b.ID) })
	return list, nil
}

// SetEnabled enables or disables a worker; it learns of it at its next
// signals read or renewal.
func (r *Registry) SetEnabled(_ context.Context, id string, enabled bool) (registrytype.Worker, error) {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	now := r.now()
	it, err := r.live("update worker", id, now)
	if err != nil {
		return registrytype.Worker{}, err
	}
	it.enabled = enabled
	return it.worker(now), nil
}

// Update applies an administrator's changes to a worker (a nil field is
// left as it is; an empty display name shows the id again).
func (r *Registry) Update(_ context.Context, id string, c registrytype.Changes) (registrytype.Worker, error) {
	if err := c.Validate(); err != nil {
		return registrytype.Worker{}, err
	}
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	now := r.now()
	it, err := r.live("update worker", id, now)
	if err != nil {
		return registrytype.Worker{}, err
	}
	if c.DisplayName != nil {
		it.displayName = *c.DisplayName
		if it.displayName == "" {
			it.displayName = id
		}
	}
	if c.Description != nil {
		it.description = *c.Description
	}
	if c.Tags != nil {
		it.tags = maps.Clone(c.Tags)
	}
	return it.worker(now), nil
}

// Remove deletes an offline worker (signed off, or its lease ran out); an
// online one is registrytype.ErrBusy: its session holds the lease its
// executions run under.
func (r *Registry) Remove(_ context.Context, id string) error {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	now := r.now()
	it, err := r.live("remove worker", id, now)
	if err != nil {
		return err
	}
	if it.leaseUntil.After(now) {
		return fmt.Errorf("remove worker %s: %w: it is online (its session's lease runs until %s, %d executions running): "+
			"stop its process, or disable it and wait until it is offline, then remove it", id, registrytype.ErrBusy,
			it.leaseUntil.UTC().Format(time.RFC3339), it.worker(now).Running)
	}
	delete(r.st.workers, id)
	return nil
}
