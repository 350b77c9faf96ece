package exectest

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
)

// The lease rules: an execution is never run by two attempts at once,
// never lost when a worker dies, and never charged a package retry for a
// worker's death.

func claimIsExclusive(s suite) {
	e := s.pending(0, 2)
	a, _ := s.register(s.workerID("a"))
	b, _ := s.register(s.workerID("b"))
	var wins, conflicts int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, sess := range []registrytype.Session{a, b, a, b} {
		wg.Go(func() {
			_, err := s.Store.Claim(s.ctx, e.ID, sess, s.Clock.Now())
			mu.Lock()
			defer mu.Unlock()
			var ce *execution.ConflictError
			switch {
			case err == nil:
				wins++
			case errors.As(err, &ce):
				conflicts++
			default:
				s.t.Errorf("claim: %v", err)
			}
		})
	}
	wg.Wait()
	require.Equal(s.t, 1, wins)
	require.Equal(s.t, 3, conflicts)
	got, err := s.Store.Get(s.ctx, e.ID)
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Running, got.Status)
	require.Equal(s.t, 1, got.Attempt)
	require.Contains(s.t, []string{a.ID, b.ID}, got.Session)
}

func writesNeedTheLease(s suite) {
	e := s.pending(1, 2)
	a, _ := s.register(s.workerID("a"))
	got, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	l := execution.LeaseOf(got)
	for name, wrong := range map[string]execution.Lease{
		"another session": {ID: l.ID, WorkerID: l.WorkerID, Session: "not-" + l.Session, Attempt: l.Attempt},
		"another attempt": {ID: l.ID, WorkerID: l.WorkerID, Session: l.Session, Attempt: l.Attempt + 1},
		"another worker":  {ID: l.ID, WorkerID: "someone-else", Session: l.Session, Attempt: l.Attempt},
	} {
		_, err := s.Store.Finish(s.ctx, wrong, execution.Result{Status: execution.Succeeded}, s.Clock.Now())
		require.ErrorIs(s.t, err, execution.ErrLeaseLost, name)
		_, err = s.Store.Retry(s.ctx, wrong, execution.AttemptRecord{EndedAt: s.Clock.Now()}, s.Clock.Now())
		require.ErrorIs(s.t, err, execution.ErrLeaseLost, name)
		_, err = s.Store.Release(s.ctx, wrong, execution.AttemptRecord{EndedAt: s.Clock.Now()})
		require.ErrorIs(s.t, err, execution.ErrLeaseLost, name)
	}
	done, err := s.Store.Finish(s.ctx, l, execution.Result{Status: execution.Succeeded}, s.Clock.Now())
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Succeeded, done.Status)
	_, err = s.Store.Finish(s.ctx, l, execution.Result{Status: execution.Failed}, s.Clock.Now())
	require.ErrorIs(s.t, err, execution.ErrLeaseLost, "a final state is never overwritten")
}

func liveSessionIsNotTakenOver(s suite) {
	e := s.pending(0, 2)
	a, _ := s.register(s.workerID("a"))
	b, _ := s.register(s.workerID("b"))
	claimed, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	// Renewals keep it alive however long it runs: hours, here.
	for range 10 {
		s.Clock.Add(lease / 3)
		require.NoError(s.t, s.renew(a, claimed))
	}
	s.Clock.Add(lease / 2)
	_, err = s.Store.Claim(s.ctx, e.ID, b, s.Clock.Now())
	var ce *execution.ConflictError
	require.ErrorAs(s.t, err, &ce)
	require.Equal(s.t, a.ID, ce.Current.Session)
	require.NotNil(s.t, ce.Current.LeaseUntil, "the conflict says until when the holder's lease runs")
	require.True(s.t, ce.Current.LeaseUntil.After(s.Clock.Now()))
	_, err = s.Store.Recover(s.ctx, ce.Current.Redacted(), s.Clock.Now(), s.Clock.Now())
	require.ErrorAs(s.t, err, &ce, "recover leaves a live session's run alone")
}

func deadSessionIsTakenOver(s suite) {
	e := s.pending(0, 2)
	a, _ := s.register(s.workerID("a"))
	first, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	require.NoError(s.t, s.renew(a, first))
	s.Clock.Add(lease + time.Second) // a died: no renewal
	b, _ := s.register(s.workerID("b"))
	second, err := s.Store.Claim(s.ctx, e.ID, b, s.Clock.Now())
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Running, second.Status)
	require.Equal(s.t, 2, second.Attempt)
	require.Equal(s.t, b.ID, second.Session)
	require.Len(s.t, second.Attempts, 1)
	require.Equal(s.t, execution.OutcomeLost, second.Attempts[0].Outcome)
	require.Equal(s.t, a.WorkerID, second.Attempts[0].WorkerID)
	require.Equal(s.t, 1, second.CountedAttempts(), "a lost attempt is not counted against the package's retries")
	require.Equal(s.t, 1, second.LostAttempts())
	// Fencing: the lost attempt's writes fail and change nothing.
	_, err = s.Store.Finish(s.ctx, execution.LeaseOf(first), execution.Result{Status: execution.Succeeded}, s.Clock.Now())
	require.ErrorIs(s.t, err, execution.ErrLeaseLost)
	_, err = s.Store.Retry(s.ctx, execution.LeaseOf(first), execution.AttemptRecord{EndedAt: s.Clock.Now()}, s.Clock.Now())
	require.ErrorIs(s.t, err, execution.ErrLeaseLost)
	got, err := s.Store.Get(s.ctx, e.ID)
	require.NoError(s.t, err)
	require.Equal(s.t, execution.LeaseOf(second), execution.LeaseOf(got))
}

func noLostRetriesLeft(s suite) {
	e := s.pending(3, 0)
	a, _ := s.register(s.workerID("a"))
	_, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	s.Clock.Add(lease + time.Second)
	b, _ := s.register(s.workerID("b"))
	_, err = s.Store.Claim(s.ctx, e.ID, b, s.Clock.Now())
	var ce *execution.ConflictError
	require.ErrorAs(s.t, err, &ce)
	require.Equal(s.t, execution.EndedUnexpectedly, ce.Current.Status, "package retries (3) do not pay for a lost attempt")
	require.Contains(s.t, ce.Current.Error, "no lost-attempt retries left")

	// A stopping execution whose worker died ends canceled.
	e = s.pending(0, 2)
	c, _ := s.register(s.workerID("c"))
	claimed, err := s.Store.Claim(s.ctx, e.ID, c, s.Clock.Now())
	require.NoError(s.t, err)
	require.NoError(s.t, s.renew(c, claimed))
	_, err = s.Store.Stop(s.ctx, e.ID, s.Clock.Now())
	require.NoError(s.t, err)
	s.Clock.Add(lease + time.Second)
	b, _ = s.register(s.workerID("b2"))
	_, err = s.Store.Claim(s.ctx, e.ID, b, s.Clock.Now())
	require.ErrorAs(s.t, err, &ce)
	require.Equal(s.t, execution.Canceled, ce.Current.Status)
}

func expiredSessionCannotRenew(s suite) {
	a, _ := s.register(s.workerID("a"))
	require.NoError(s.t, s.renew(a))
	s.Clock.Add(lease + time.Millisecond)
	require.ErrorIs(s.t, s.renew(a), registrytype.ErrSessionLost, "a lease that ran out never comes back")
}

func registration(s suite) {
	id := s.workerID("a")
	a, prev := s.register(id)
	require.Empty(s.t, prev.Runs)
	e := s.pending(0, 2)
	claimed, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	require.NoError(s.t, s.renew(a, claimed))
	// The same id again while the lease runs: refused (two processes
	// with one id would fence each other out).
	_, _, _, err = s.Registry.Register(s.ctx, registrytype.Registration{ID: id, Machine: "m", Pools: []string{"exectest"}, MaxTasks: 4}, lease)
	require.ErrorIs(s.t, err, registrytype.ErrSessionLive)
	// After the lease: a new session, and the old one's runs handed over
	// for recovery.
	s.Clock.Add(lease + time.Second)
	b, prev := s.register(id)
	require.NotEqual(s.t, a.ID, b.ID)
	require.Equal(s.t, a.ID, prev.ID, "the replaced session, as it was")
	require.Equal(s.t, []registrytype.Run{{ExecutionID: e.ID, Attempt: 1}}, prev.Runs)
	require.ErrorIs(s.t, s.renew(a, claimed), registrytype.ErrSessionLost, "the old session is fenced out")
	// The new session's worker recovers what the old one held.
	got, recovered, err := s.Store.Reap(s.ctx, prev, prev.Runs[0], s.Clock.Now())
	require.NoError(s.t, err)
	require.True(s.t, recovered, "the previous session's run is recovered")
	require.Equal(s.t, execution.Pending, got.Status)
	require.Equal(s.t, execution.OutcomeLost, got.Attempts[0].Outcome)
	// A clean sign-off leaves no orphans.
	require.NoError(s.t, s.Registry.SignOff(s.ctx, b))
	_, prev = s.register(id)
	require.Empty(s.t, prev.Runs)
}

func stopReachesTheSession(s suite) {
	e := s.pending(0, 2)
	id := s.workerID("a")
	a, _ := s.register(id)
	claimed, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	stopped, err := s.Store.Stop(s.ctx, e.ID, s.Clock.Now())
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Stopping, stopped.Status)
	require.Eventually(s.t, func() bool { // the signals read may lag
		sig, err := s.Registry.Signals(s.ctx, id)
		return err == nil && len(sig.Stops) == 1 && sig.Stops[0] == e.ID
	}, 5*time.Second, 50*time.Millisecond)
	// Handled stop requests go at the next renewal.
	_, err = s.Registry.Renew(s.ctx, a, s.Clock.Now().Add(lease), []registrytype.Run{{ExecutionID: e.ID, Attempt: claimed.Attempt}}, []string{e.ID})
	require.NoError(s.t, err)
	require.Eventually(s.t, func() bool {
		sig, err := s.Registry.Signals(s.ctx, id)
		return err == nil && len(sig.Stops) == 0
	}, 5*time.Second, 50*time.Millisecond)
	// The holder finishes it: stopping -> canceled needs the lease too.
	done, err := s.Store.Finish(s.ctx, execution.LeaseOf(claimed), execution.Result{Status: execution.Canceled, Error: "stopped by request"}, s.Clock.Now())
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Canceled, done.Status)
}

func takeoverRace(s suite) {
	e := s.pending(0, 2)
	a, _ := s.register(s.workerID("a"))
	_, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	s.Clock.Add(lease + time.Second)
	var sessions []registrytype.Session
	for i := range 4 {
		sess, _ := s.register(s.workerID(fmt.Sprintf("t%d", i)))
		sessions = append(sessions, sess)
	}
	var mu sync.Mutex
	var wins []string
	var wg sync.WaitGroup
	for _, sess := range sessions {
		wg.Go(func() {
			got, err := s.Store.Claim(s.ctx, e.ID, sess, s.Clock.Now())
			if err == nil {
				mu.Lock()
				wins = append(wins, got.Session)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(s.t, wins, 1, "exactly one takeover")
	got, err := s.Store.Get(s.ctx, e.ID)
	require.NoError(s.t, err)
	require.Equal(s.t, 2, got.Attempt)
	require.Len(s.t, got.Attempts, 1, "the lost attempt is recorded once")
}

func reap(s suite) {
	e := s.pending(0, 2)
	id := s.workerID("a")
	a, _ := s.register(id)
	claimed, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	require.NoError(s.t, s.renew(a, claimed))
	st, err := s.Registry.SessionOf(s.ctx, id)
	require.NoError(s.t, err)
	require.True(s.t, st.Holds(a.ID, s.Clock.Now()))
	require.Equal(s.t, []registrytype.Run{{ExecutionID: e.ID, Attempt: 1}}, st.Runs)

	s.Clock.Add(lease + time.Second)
	st, err = s.Registry.SessionOf(s.ctx, id)
	require.NoError(s.t, err)
	require.False(s.t, st.Holds(a.ID, s.Clock.Now()))
	got, recovered, err := s.Store.Reap(s.ctx, st, st.Runs[0], s.Clock.Now())
	require.NoError(s.t, err)
	require.True(s.t, recovered)
	require.Equal(s.t, execution.Pending, got.Status)
	require.Equal(s.t, execution.OutcomeLost, got.Attempts[0].Outcome)
	_, recovered, err = s.Store.Reap(s.ctx, st, st.Runs[0], s.Clock.Now())
	require.NoError(s.t, err)
	require.False(s.t, recovered, "a second reaper finds it moved on")
	// The next claim runs it as attempt 2.
	b, _ := s.register(s.workerID("b"))
	next, err := s.Store.Claim(s.ctx, e.ID, b, s.Clock.Now())
	require.NoError(s.t, err)
	require.Equal(s.t, 2, next.Attempt)
}

func abandoned(s suite) {
	e := s.pending(0, 2)
	a, _ := s.register(s.workerID("a"))
	claimed, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	require.NoError(s.t, s.renew(a, claimed))
	_, err = s.Store.Recover(s.ctx, claimed, s.Clock.Now(), s.Clock.Now())
	var ce *execution.ConflictError
	require.ErrorAs(s.t, err, &ce, "recorded by a live session: left alone")
	// The worker let it go without recording its end: its renewals no
	// longer record it. Not abandoned until a renewal a whole lease after
	// the claim (a slow claim is recorded well before).
	s.Clock.Add(lease / 2)
	require.NoError(s.t, s.renew(a))
	_, err = s.Store.Recover(s.ctx, claimed, s.Clock.Now(), s.Clock.Now().Add(-time.Hour))
	require.ErrorAs(s.t, err, &ce, "not yet: half a lease since the claim")
	s.Clock.Add(lease/2 + time.Second)
	require.NoError(s.t, s.renew(a))
	got, err := s.Store.Recover(s.ctx, claimed, s.Clock.Now(), s.Clock.Now().Add(-time.Hour))
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Pending, got.Status)
}

// listed is e as ByStatus lists it (what the DynamoDB store's by_status
// index projects): what the reconciler hands to Recover.
func listed(e execution.Execution) execution.Execution {
	return execution.Execution{
		ID: e.ID, Status: e.Status, Pool: e.Pool, CreatedAt: e.CreatedAt, EnqueuedAt: e.EnqueuedAt, NotBefore: e.NotBefore,
		Requeues: e.Requeues, Attempt: e.Attempt, WorkerID: e.WorkerID, Session: e.Session, StartedAt: e.StartedAt,
		Retries: e.Retries, LostRetries: e.LostRetries, Attempts: e.Attempts,
	}
}

// Recover, given what ByStatus lists, applies the lost-attempt rule to
// attempts whose session died before deadSince, without running them:
// pending again while the lost budget allows, else ended unexpectedly, or
// canceled when being stopped. A session that died after deadSince is
// left alone until deadSince passes its end.
func recoverLost(s suite) {
	claim := func(retries, lostRetries int) (execution.Execution, registrytype.Session) {
		s.t.Helper()
		e := s.pending(retries, lostRetries)
		sess := s.session() // never renewed: dead after lease
		got, err := s.Store.Claim(s.ctx, e.ID, sess, s.Clock.Now())
		require.NoError(s.t, err)
		return got, sess
	}
	get := func(id string) execution.Execution {
		s.t.Helper()
		got, err := s.Store.Get(s.ctx, id)
		require.NoError(s.t, err)
		return got
	}
	retry, _ := claim(0, 1)
	noRetry, dead := claim(3, 0)
	stopping, _ := claim(0, 2)
	_, err := s.Store.Stop(s.ctx, stopping.ID, s.Clock.Now())
	require.NoError(s.t, err)
	stopping = get(stopping.ID)
	deadAt := dead.LeaseUntil
	s.Clock.Add(lease)
	late, _ := claim(0, 1) // its session dies a lease after the others'
	s.Clock.Add(lease - time.Second)
	now := s.Clock.Now()
	deadSince := now.Add(-10 * time.Second) // between the two deaths

	got, err := s.Store.Recover(s.ctx, listed(retry), now, deadSince)
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Pending, got.Status)
	require.Equal(s.t, now, *got.EnqueuedAt, "enqueued again now")
	require.Len(s.t, got.Attempts, 1)
	require.Equal(s.t, execution.OutcomeLost, got.Attempts[0].Outcome)

	got, err = s.Store.Recover(s.ctx, listed(noRetry), now, deadSince)
	require.NoError(s.t, err, "an attempt that ends the execution is no conflict")
	require.Equal(s.t, execution.EndedUnexpectedly, got.Status)
	require.Equal(s.t, fmt.Sprintf("worker %s lost attempt 1 (its lease expired at %s); no lost-attempt retries left (lost_retries 0)",
		dead.WorkerID, deadAt.UTC().Format(time.RFC3339Nano)), got.Error, "package retries (3) do not pay for a lost attempt")
	require.Equal(s.t, got, get(noRetry.ID))

	got, err = s.Store.Recover(s.ctx, listed(stopping), now, deadSince)
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Canceled, got.Status)

	_, err = s.Store.Recover(s.ctx, listed(late), now, deadSince)
	var ce *execution.ConflictError
	require.ErrorAs(s.t, err, &ce, "dead since after deadSince: a worker receiving its message may take it over")
	require.Equal(s.t, execution.Running, get(late.ID).Status)
	s.Clock.Add(12 * time.Second) // deadSince past its end
	got, err = s.Store.Recover(s.ctx, listed(late), s.Clock.Now(), s.Clock.Now().Add(-10*time.Second))
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Pending, got.Status)

	_, err = s.Store.Recover(s.ctx, listed(retry), now, deadSince)
	require.ErrorAs(s.t, err, &ce, "recovered once: the second reconciler conflicts")
	next, err := s.Store.Claim(s.ctx, retry.ID, s.session(), s.Clock.Now())
	require.NoError(s.t, err)
	require.Equal(s.t, 2, next.Attempt, "the next worker runs it as attempt 2")
}

func retryAndRelease(s suite) {
	e := s.pending(1, 2)
	a, _ := s.register(s.workerID("a"))
	first, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	due := s.Clock.Now().Add(time.Minute)
	back, err := s.Store.Retry(s.ctx, execution.LeaseOf(first), execution.AttemptRecord{EndedAt: s.Clock.Now(), Reason: "boom"}, due)
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Pending, back.Status)
	_, err = s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	var ce *execution.ConflictError
	require.ErrorAs(s.t, err, &ce, "not before its backoff")
	second, err := s.Store.Claim(s.ctx, e.ID, a, due)
	require.NoError(s.t, err)
	require.False(s.t, second.CanRetry(), "1 failed + this one: no package retry left")
	rel, err := s.Store.Release(s.ctx, execution.LeaseOf(second), execution.AttemptRecord{EndedAt: due})
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Pending, rel.Status)
	third, err := s.Store.Claim(s.ctx, e.ID, a, due)
	require.NoError(s.t, err)
	require.Equal(s.t, 3, third.Attempt)
	require.Equal(s.t, 2, third.CountedAttempts(), "a release does not count")
	require.True(s.t, third.CanRetryLost(), "nor does it touch the lost budget")
}
