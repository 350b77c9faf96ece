package execmem

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
	"github.com/scaleout/scaleout/scaleouttype"
)

// state is what a Store and its Registry share, under one lock.
type state struct {
	mu  sync.Mutex
	now func() time.Time
	// executions by id, as stored (see stored).
	executions map[string]execution.Execution
	// idempotency records by scope and key.
	idempotency map[string]idemRecord
	// workers by id.
	workers map[string]*workerItem
}

type idemRecord struct {
	executionID string
	hash        string
	expires     time.Time
}

// Store keeps executions in memory; its Registry holds the worker sessions
// that hold their attempts. It is safe for concurrent use.
type Store struct {
	st  *state
	reg *Registry
	// Sealer, when set, seals the values of sensitive parameters before
	// they are stored (see execution.SealParameters).
	Sealer execution.Sealer
}

// New returns an empty store and registry whose registry reads the time
// from now (nil: time.Now).
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	st := &state{now: now, executions: map[string]execution.Execution{}, idempotency: map[string]idemRecord{},
		workers: map[string]*workerItem{}}
	return &Store{st: st, reg: &Registry{st: st, Retention: registrytype.DefaultRetention}}
}

// Registry is the worker registry whose sessions hold this store's
// executions.
func (s *Store) Registry() *Registry { return s.reg }

func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

func msPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ms(*t)
	return &v
}

// stored returns e as the DynamoDB store would read it back after writing
// it (see the package doc), sharing nothing with e.
func stored(e execution.Execution) (execution.Execution, error) {
	e.CreatedAt = ms(e.CreatedAt)
	e.StartedAt, e.EndedAt, e.EnqueuedAt, e.NotBefore = msPtr(e.StartedAt), msPtr(e.EndedAt), msPtr(e.EnqueuedAt), msPtr(e.NotBefore)
	e.LeaseUntil = nil // not kept with the execution: read from its session
	if len(e.Definition) == 0 {
		e.Definition = nil
	} else {
		e.Definition = slices.Clone(e.Definition)
	}
	if len(e.Parameters) == 0 {
		e.Parameters = nil
	} else {
		b, err := json.Marshal(e.Parameters)
		if err != nil {
			return e, fmt.Errorf("encode parameters of execution %s: %w", e.ID, err)
		}
		e.Parameters = nil
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(&e.Parameters); err != nil {
			return e, fmt.Errorf("decode parameters of execution %s: %w", e.ID, err)
		}
	}
	e.Sensitive = nilIfEmpty(slices.Clone(e.Sensitive))
	if len(e.SealedParameters) == 0 {
		e.SealedParameters = nil
	} else {
		e.SealedParameters = maps.Clone(e.SealedParameters)
	}
	e.Tasks = nilIfEmpty(slices.Clone(e.Tasks))
	if len(e.Attempts) == 0 {
		e.Attempts = nil
	} else {
		attempts := make([]execution.AttemptRecord, len(e.Attempts))
		for i, a := range e.Attempts {
			attempts[i] = attemptRecord(a)
		}
		e.Attempts = attempts
	}
	return e, nil
}

// attemptRecord is r as an execution keeps it.
func attemptRecord(r execution.AttemptRecord) execution.AttemptRecord {
	if !r.StartedAt.IsZero() {
		r.StartedAt = ms(r.StartedAt)
	}
	r.EndedAt = ms(r.EndedAt)
	r.Reason = execution.Clip(r.Reason, execution.MaxReasonBytes)
	return r
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// read returns a copy of the stored execution id (the lock held).
func (st *state) read(id string) (execution.Execution, bool) {
	e, ok := st.executions[id]
	if !ok {
		return execution.Execution{}, false
	}
	c, err := stored(e) // it was stored as such: it encodes again
	if err != nil {
		panic(fmt.Sprintf("execmem: stored execution %s no longer encodes: %v", id, err))
	}
	return c, true
}

// write stores e (the lock held).
func (st *state) write(e execution.Execution) error {
	c, err := stored(e)
	if err != nil {
		return err
	}
	st.executions[e.ID] = c
	return nil
}

// conflict is the error of a write to execution id that found it not as
// want says (the lock held): with the stored execution, or wrapping
// scaleouttype.ErrNotFound when there is none, as the DynamoDB store's.
func (st *state) conflict(id, want string) error {
	c := &execution.ConflictError{ID: id, Want: want}
	cur, ok := st.read(id)
	if !ok {
		return fmt.Errorf("execution %s: %w: %w", id, scaleouttype.ErrNotFound, c)
	}
	c.Current = &cur
	return c
}

// leaseLost is the error of a write that needed lease l.
func (st *state) leaseLost(l execution.Lease) error {
	c := &execution.ConflictError{ID: l.ID, Want: fmt.Sprintf("held by worker %q attempt %d", l.WorkerID, l.Attempt)}
	if cur, ok := st.read(l.ID); ok {
		c.Current = &cur
	}
	return execution.LeaseLost{ConflictError: c}
}

// allows reports whether op may move an execution in status from to to, as
// the status table has it.
func allows(op execution.Op, from, to execution.Status) bool {
	return execution.MustTransition(op, to).Allows(from)
}

// holds reports whether e's current attempt is the one lease l names.
func holds(e execution.Execution, l execution.Lease) bool {
	return e.WorkerID == l.WorkerID && e.Session == l.Session && e.Attempt == l.Attempt
}
