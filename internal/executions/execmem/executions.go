package execmem

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/scaleouttype"
)

// submitted checks e, sealed, for its creation: the status table's
// submission and the size an execution may take when submitted, measured
// as its JSON.
func submitted(e execution.Execution) error {
	if _, err := execution.TransitionOf(execution.OpSubmit, e.Status); err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	params := 0
	for _, v := range []any{e.Parameters, e.SealedParameters} {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode execution %s: %w", e.ID, err)
		}
		params += len(b)
	}
	rest := e
	rest.Definition, rest.Parameters = nil, nil
	b, err := json.Marshal(rest)
	if err != nil {
		return fmt.Errorf("encode execution %s: %w", e.ID, err)
	}
	return execution.CheckSubmittedSize(e, len(b)+len(e.Definition)+params+len(strings.Join(e.Sensitive, "")), params)
}

// Create stores a new execution; its id must be unused (execution.ErrExists).
func (s *Store) Create(ctx context.Context, e execution.Execution) error {
	e, err := execution.SealParameters(ctx, e, s.Sealer)
	if err != nil {
		return err
	}
	if err := submitted(e); err != nil {
		return err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if _, ok := s.st.executions[e.ID]; ok {
		return fmt.Errorf("create execution %s: %w", e.ID, execution.ErrExists)
	}
	if err := s.st.write(e); err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	return nil
}

// CreateIdempotent stores e and remembers that idem made it, in one step.
// When the key was used before (within its TTL, default 24 h) with the
// same request hash, it stores nothing and returns the execution made then
// with replayed true; with another hash, scaleouttype.ErrIdempotencyMismatch.
func (s *Store) CreateIdempotent(ctx context.Context, e execution.Execution, idem scaleouttype.Idempotency) (_ execution.Execution, replayed bool, err error) {
	if idem.TTL <= 0 {
		idem.TTL = 24 * time.Hour
	}
	e, err = execution.SealParameters(ctx, e, s.Sealer)
	if err != nil {
		return e, false, err
	}
	if err := submitted(e); err != nil {
		return e, false, err
	}
	key := idem.Scope + "#" + idem.Key
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if rec, ok := s.st.idempotency[key]; ok && s.st.now().Before(rec.expires) {
		if rec.hash != idem.Hash {
			return e, false, scaleouttype.ErrIdempotencyMismatch
		}
		prev, ok := s.st.read(rec.executionID)
		if !ok {
			return execution.Execution{}, true, fmt.Errorf("execution %s: %w", rec.executionID, scaleouttype.ErrNotFound)
		}
		return prev, true, nil
	}
	if _, ok := s.st.executions[e.ID]; ok {
		return e, false, fmt.Errorf("create execution %s: %w", e.ID, execution.ErrExists)
	}
	if err := s.st.write(e); err != nil {
		return e, false, fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	s.st.idempotency[key] = idemRecord{executionID: e.ID, hash: idem.Hash, expires: e.CreatedAt.Add(idem.TTL)}
	return e, false, nil
}

// Get reads one execution (scaleouttype.ErrNotFound when there is none).
func (s *Store) Get(_ context.Context, id string) (execution.Execution, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	e, ok := s.st.read(id)
	if !ok {
		return execution.Execution{}, fmt.Errorf("execution %s: %w", id, scaleouttype.ErrNotFound)
	}
	return e, nil
}

// List returns the executions matching f, newest first, a page of f.Limit
// at most, with a cursor to the next page when the page is full; a listing
// leaves out each execution's definition and task summaries. The rules
// (defaults, matching, order, cursor) are package execution's, as for the
// DynamoDB store.
func (s *Store) List(_ context.Context, f scaleouttype.ExecutionFilter, now time.Time) (scaleouttype.ExecutionPage, error) {
	fp := execution.Fingerprint(f)
	f = execution.WithListDefaults(f, now)
	var from execution.ListCursor
	if f.Cursor != "" {
		var err error
		if from, err = execution.DecodeListCursor(f.Cursor, fp); err != nil {
			return scaleouttype.ExecutionPage{}, err
		}
	}
	lo, hi := "0", "~"
	if !f.Since.IsZero() {
		lo = execution.MSKey(f.Since.UnixMilli())
	}
	byDay := execution.ByDay(f)
	if byDay && from.Lo != "" {
		lo = from.Lo
	}
	if !f.Until.IsZero() {
		hi = execution.MSBound(f.Until.UnixMilli())
	}
	if from.Key != "" && from.Key < hi {
		hi = from.Key
	}
	page := scaleouttype.ExecutionPage{Executions: []execution.Execution{}}
	if hi <= lo {
		return page, nil
	}
	type keyed struct {
		key string
		e   execution.Execution
	}
	var found []keyed
	s.st.mu.Lock()
	for id := range s.st.executions {
		e, _ := s.st.read(id)
		k := execution.CreatedKey(e.CreatedAt, e.ID)
		if k >= lo && k < hi && execution.Matches(f, e) {
			e.Definition, e.Tasks = nil, nil
			found = append(found, keyed{k, e})
		}
	}
	s.st.mu.Unlock()
	slices.SortFunc(found, func(a, b keyed) int { return cmp.Compare(b.key, a.key) })
	for _, k := range found[:min(len(found), f.Limit)] {
		page.Executions = append(page.Executions, k.e)
	}
	if len(page.Executions) == f.Limit {
		next := execution.ListCursor{Key: found[f.Limit-1].key, Filter: fp}
		if byDay {
			next.Lo = lo
		}
		page.Next = next.Encode()
	}
	return page, nil
}

// ByStatus returns up to limit executions in status created before
// createdBefore (to the millisecond, inclusive), oldest first. A final
// status finds nothing, and each execution holds only what the DynamoDB
// store's by_status index projects (status, pool, times, attempt, worker,
// session, retries, attempts): Get reads the rest.
func (s *Store) ByStatus(_ context.Context, status execution.Status, createdBefore time.Time, limit int) ([]execution.Execution, error) {
	if status.Final() || limit <= 0 {
		return nil, nil
	}
	hi := execution.MSBound(createdBefore.UnixMilli())
	type keyed struct {
		key string
		e   execution.Execution
	}
	var found []keyed
	s.st.mu.Lock()
	for id, e := range s.st.executions {
		k := execution.CreatedKey(e.CreatedAt, id)
		if e.Status != status || k >= hi {
			continue
		}
		e, _ = s.st.read(id)
		found = append(found, keyed{k, execution.Execution{
			ID: e.ID, Status: e.Status, Pool: e.Pool, CreatedAt: e.CreatedAt, EnqueuedAt: e.EnqueuedAt, NotBefore: e.NotBefore,
			Requeues: e.Requeues, Attempt: e.Attempt, WorkerID: e.WorkerID, Session: e.Session, StartedAt: e.StartedAt,
			Retries: e.Retries, LostRetries: e.LostRetries, Attempts: e.Attempts,
		}})
	}
	s.st.mu.Unlock()
	slices.SortFunc(found, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	var out []execution.Execution
	for _, k := range found[:min(len(found), limit)] {
		out = append(out, k.e)
	}
	return out, nil
}

// MarkEnqueued records that the reconciler sends e's message again (and
// counts it in Requeues), unless e changed since it was read (pending, the
// same attempt, the same EnqueuedAt): then a *execution.ConflictError. Of
// two reconcilers, only one sends.
func (s *Store) MarkEnqueued(_ context.Context, e execution.Execution, now time.Time) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	cur, ok := s.st.read(e.ID)
	asRead := ok && allows(execution.OpRequeue, cur.Status, execution.Pending) && cur.Attempt == e.Attempt &&
		(e.EnqueuedAt == nil && cur.EnqueuedAt == nil ||
			e.EnqueuedAt != nil && cur.EnqueuedAt != nil && cur.EnqueuedAt.UnixMilli() == e.EnqueuedAt.UnixMilli())
	if !asRead {
		return s.st.conflict(e.ID, "pending as read")
	}
	cur.EnqueuedAt = &now
	cur.Requeues++
	return s.st.write(cur)
}

// Fail moves an execution that no worker holds (pending) to failed, for
// example when it could not be enqueued; otherwise a
// *execution.ConflictError.
func (s *Store) Fail(_ context.Context, id, reason string, now time.Time) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	cur, ok := s.st.read(id)
	if !ok || !allows(execution.OpFail, cur.Status, execution.Failed) {
		return s.st.conflict(id, "pending")
	}
	cur.Status, cur.EndedAt, cur.Error = execution.Failed, &now, reason
	return s.st.write(cur)
}

// Stop asks an execution to stop: a pending one is canceled at once, a
// running one moves to stopping and, in the same step, its id joins the
// stop requests of the session that runs it (when that session is still
// the worker's), which the worker reads with its signals. Stopping one
// that is stopping changes nothing. A final execution gives a
// *execution.ConflictError.
func (s *Store) Stop(_ context.Context, id string, now time.Time) (execution.Execution, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	cur, ok := s.st.read(id)
	if !ok {
		return execution.Execution{}, s.st.conflict(id, "pending")
	}
	switch {
	case allows(execution.OpStop, cur.Status, execution.Canceled):
		cur.Status, cur.EndedAt, cur.Error = execution.Canceled, &now, "stopped before it started"
	case cur.Status == execution.Stopping:
		return cur, nil
	case allows(execution.OpStop, cur.Status, execution.Stopping):
		cur.Status = execution.Stopping
		if w, ok := s.st.workers[cur.WorkerID]; ok && w.session == cur.Session {
			w.stops[id] = true
		}
		// Without its session (the worker was lost or removed) there is
		// no worker to tell; the lost attempt ends it canceled.
	default:
		return execution.Execution{}, &execution.ConflictError{ID: id, Want: "pending or running to stop it", Current: &cur}
	}
	if err := s.st.write(cur); err != nil {
		return execution.Execution{}, err
	}
	got, _ := s.st.read(id)
	return got, nil
}
