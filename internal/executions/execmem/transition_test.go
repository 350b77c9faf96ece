package execmem

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
)

// The store's writes agree with the status table, as execstore's
// TestTransitionConformance holds the DynamoDB store's: for every row and
// every status an execution may be stored in, the row's operation moves an
// execution in one of the row's From statuses to its To status, and
// refuses any other with a domain error (a *execution.ConflictError, or
// for a lost attempt whose status changed under the recovery, the error to
// look again), leaving it as it was.
func TestTransitionConformance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	s := New(func() time.Time { return now })
	_, live, _, err := s.Registry().Register(ctx, registrytype.Registration{ID: "live", Machine: "m", Pools: []string{"default"}, MaxTasks: 1}, time.Hour)
	require.NoError(t, err)

	// seed stores an execution in status st, held (whatever st) by the
	// live session, or by a dead one (a worker never registered).
	seed := func(t *testing.T, st execution.Status, dead bool, lostRetries int) execution.Execution {
		e := execution.Execution{
			ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "pkg", Pool: "default",
			Status: st, Definition: []byte(`{}`), CreatedAt: now, StartedAt: &now, Attempt: 1,
			WorkerID: live.WorkerID, Session: live.ID, LostRetries: lostRetries,
		}
		if dead {
			e.WorkerID, e.Session = "dead-"+uuid.NewString()[:8], uuid.NewString()
		}
		s.st.mu.Lock()
		defer s.st.mu.Unlock()
		require.NoError(t, s.st.write(e))
		return e
	}
	rec := execution.AttemptRecord{EndedAt: now}
	// do performs tr's operation on e, as a caller that read it in the
	// status of tr.From[0] (the stored status may be another).
	do := func(tr execution.Transition, e execution.Execution) error {
		if len(tr.From) > 0 {
			e.Status = tr.From[0]
		}
		l := execution.LeaseOf(e)
		var err error
		switch tr.Op {
		case execution.OpRequeue:
			err = s.MarkEnqueued(ctx, e, now)
		case execution.OpClaim:
			_, err = s.Claim(ctx, e.ID, live, now)
		case execution.OpFail:
			err = s.Fail(ctx, e.ID, "could not enqueue", now)
		case execution.OpStop:
			_, err = s.Stop(ctx, e.ID, now)
		case execution.OpFinish:
			_, err = s.Finish(ctx, l, execution.Result{Status: tr.To}, now)
		case execution.OpRetry:
			_, err = s.Retry(ctx, l, rec, now.Add(time.Minute))
		case execution.OpRelease:
			_, err = s.Release(ctx, l, rec)
		case execution.OpTakeOver:
			s.st.mu.Lock()
			_, err = s.st.lost(e, registrytype.SessionState{}, &live, now)
			s.st.mu.Unlock()
		case execution.OpRecover:
			_, err = s.Recover(ctx, e, now, now)
		default:
			t.Fatalf("no case for the operation %q: add one", tr.Op)
		}
		return err
	}
	// Stop is one call for two rows: where it goes depends on the stored
	// status, not on the caller.
	storedDecides := map[execution.Op]bool{execution.OpStop: true}

	for _, tr := range execution.Transitions {
		for _, st := range execution.Statuses {
			t.Run(string(tr.Op)+"_to_"+string(tr.To)+"/from_"+string(st), func(t *testing.T) {
				t.Parallel()
				dead := tr.Op == execution.OpTakeOver || tr.Op == execution.OpRecover
				lostRetries := 1
				if tr.To == execution.EndedUnexpectedly {
					lostRetries = 0
				}
				e := seed(t, st, dead, lostRetries)
				if tr.Op == execution.OpSubmit {
					fresh := e
					fresh.ID, fresh.Status = uuid.Must(uuid.NewV7()).String(), tr.To
					require.NoError(t, s.Create(ctx, fresh))
					got, err := s.Get(ctx, fresh.ID)
					require.NoError(t, err)
					require.Equal(t, tr.To, got.Status)
					fresh.ID = e.ID
					require.ErrorIs(t, s.Create(ctx, fresh), execution.ErrExists, "an id in use, %s", st)
					return
				}
				want, ok := tr.To, tr.Allows(st)
				if !ok && storedDecides[tr.Op] {
					for _, other := range execution.Transitions {
						if other.Op == tr.Op && other.Allows(st) {
							want, ok = other.To, true
						}
					}
				}
				err := do(tr, e)
				got, gerr := s.Get(ctx, e.ID)
				require.NoError(t, gerr)
				if ok {
					require.NoError(t, err, "%s from %s", tr.Op, st)
					require.Equal(t, want, got.Status, "%s from %s", tr.Op, st)
					return
				}
				var ce *execution.ConflictError
				require.True(t, errors.As(err, &ce) || errors.Is(err, errTryAgain), "%s from %s: want a conflict, got %v", tr.Op, st, err)
				require.Equal(t, st, got.Status, "%s from %s: refused, and left as it was", tr.Op, st)
			})
		}
	}
}
