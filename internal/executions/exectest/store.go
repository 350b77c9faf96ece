package exectest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
	"github.com/scaleout/scaleout/scaleouttype"
)

// The store's own rules: what creating, reading, listing, stopping and
// failing executions do.

func createAndGet(s suite) {
	e := s.newPending(0, 2)
	e.Parameters = map[string]any{"date": "2026-11-25", "count": 3, "token": "s3cret"}
	e.Sensitive = []string{"token"}
	require.NoError(s.t, s.Store.Create(s.ctx, e))
	got, err := s.Store.Get(s.ctx, e.ID)
	require.NoError(s.t, err)
	want := e
	want.Parameters = map[string]any{"date": "2026-11-25", "count": json.Number("3"), "token": "s3cret"}
	require.Equal(s.t, want, got, "as created; numbers come back as json.Number")

	require.ErrorIs(s.t, s.Store.Create(s.ctx, e), execution.ErrExists, "an id is used once")
	_, err = s.Store.Get(s.ctx, uuid.NewString())
	require.ErrorIs(s.t, err, scaleouttype.ErrNotFound)
	bad := s.newPending(0, 2)
	bad.Status = execution.Running
	require.Error(s.t, s.Store.Create(s.ctx, bad), "an execution is created pending")
	_, err = s.Store.Get(s.ctx, bad.ID)
	require.ErrorIs(s.t, err, scaleouttype.ErrNotFound)
}

func createIdempotent(s suite) {
	e := s.newPending(0, 2)
	idem := scaleouttype.Idempotency{Scope: "ops", Key: uuid.NewString(), Hash: "h1"}

	first := e
	got, replayed, err := s.Store.CreateIdempotent(s.ctx, first, idem)
	require.NoError(s.t, err)
	require.False(s.t, replayed)
	require.Equal(s.t, first.ID, got.ID)

	second := e
	second.ID = uuid.Must(uuid.NewV7()).String()
	got, replayed, err = s.Store.CreateIdempotent(s.ctx, second, idem)
	require.NoError(s.t, err)
	require.True(s.t, replayed)
	require.Equal(s.t, first.ID, got.ID, "the same key gives the first execution")
	_, err = s.Store.Get(s.ctx, second.ID)
	require.ErrorIs(s.t, err, scaleouttype.ErrNotFound, "and makes no second one")

	other := idem
	other.Hash = "h2"
	_, _, err = s.Store.CreateIdempotent(s.ctx, second, other)
	require.ErrorIs(s.t, err, scaleouttype.ErrIdempotencyMismatch, "the same key with another request")

	// Another caller's key of the same text is another key.
	theirs := idem
	theirs.Scope = "someone-else"
	got, replayed, err = s.Store.CreateIdempotent(s.ctx, second, theirs)
	require.NoError(s.t, err)
	require.False(s.t, replayed)
	require.Equal(s.t, second.ID, got.ID)
}

// An execution over MaxSubmittedBytes is refused before it is written,
// saying what takes the room; one well under it records its attempts'
// reasons and a result at their caps to the end.
func sizeLimits(s suite) {
	big := func(definition int) execution.Execution {
		e := s.newPending(0, 2)
		e.Definition = []byte(`"` + strings.Repeat("d", definition) + `"`)
		return e
	}
	tooBig := big(execution.MaxDefinitionBytes)
	tooBig.Parameters = map[string]any{"blob": strings.Repeat("p", execution.MaxParametersBytes-20)}
	err := s.Store.Create(s.ctx, tooBig)
	require.ErrorIs(s.t, err, execution.ErrTooLarge)
	require.ErrorContains(s.t, err, fmt.Sprintf("at most %d", execution.MaxSubmittedBytes))
	require.ErrorContains(s.t, err, fmt.Sprintf("definition %d", len(tooBig.Definition)))
	_, err = s.Store.Get(s.ctx, tooBig.ID)
	require.ErrorIs(s.t, err, scaleouttype.ErrNotFound, "nothing was written")
	_, _, err = s.Store.CreateIdempotent(s.ctx, tooBig, scaleouttype.Idempotency{Scope: "ops", Key: uuid.NewString(), Hash: "h"})
	require.ErrorIs(s.t, err, execution.ErrTooLarge)

	e := big(100_000)
	e.Retries, e.LostRetries = execution.MaxRetries, execution.MaxRetries
	require.NoError(s.t, s.Store.Create(s.ctx, e))
	sess := s.session()
	for range execution.MaxRetries {
		claimed, err := s.Store.Claim(s.ctx, e.ID, sess, s.Clock.Now())
		require.NoError(s.t, err)
		_, err = s.Store.Retry(s.ctx, execution.LeaseOf(claimed), execution.AttemptRecord{
			StartedAt: *claimed.StartedAt, EndedAt: s.Clock.Now(), Reason: strings.Repeat("r", 50_000)}, time.Time{})
		require.NoError(s.t, err)
	}
	claimed, err := s.Store.Claim(s.ctx, e.ID, sess, s.Clock.Now())
	require.NoError(s.t, err)
	require.Len(s.t, claimed.Attempts, execution.MaxRetries)
	for _, a := range claimed.Attempts {
		require.LessOrEqual(s.t, len(a.Reason), execution.MaxReasonBytes)
		require.Contains(s.t, a.Reason, "bytes cut")
	}

	res := execution.Result{Status: execution.Failed, Error: strings.Repeat("E", 300_000)}
	for i := range 500 {
		res.Tasks = append(res.Tasks, execution.TaskSummary{Path: fmt.Sprintf("t%d", i), Status: "failed", Error: strings.Repeat("e", 5000)})
	}
	done, err := s.Store.Finish(s.ctx, execution.LeaseOf(claimed), res, s.Clock.Now())
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Failed, done.Status)
	require.LessOrEqual(s.t, len(done.Error), execution.MaxErrorBytes)
	require.Contains(s.t, done.Error, "bytes cut")
	require.NotEmpty(s.t, done.Tasks)
	require.Equal(s.t, 500, len(done.Tasks)+done.TasksOmitted)
	got, err := s.Store.Get(s.ctx, e.ID)
	require.NoError(s.t, err)
	require.Equal(s.t, done, got)
}

func failOnlyPending(s suite) {
	e := s.pending(0, 2)
	now := s.Clock.Now()
	require.NoError(s.t, s.Store.Fail(s.ctx, e.ID, "could not enqueue", now))
	got, err := s.Store.Get(s.ctx, e.ID)
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Failed, got.Status)
	require.Equal(s.t, "could not enqueue", got.Error)
	require.Equal(s.t, now, *got.EndedAt)
	var c *execution.ConflictError
	require.ErrorAs(s.t, s.Store.Fail(s.ctx, e.ID, "again", now), &c, "a final execution")
	require.Equal(s.t, execution.Failed, c.Current.Status)

	running := s.pending(0, 2)
	_, err = s.Store.Claim(s.ctx, running.ID, s.session(), now)
	require.NoError(s.t, err)
	require.ErrorAs(s.t, s.Store.Fail(s.ctx, running.ID, "no", now), &c, "a running execution is its worker's to end")
	require.ErrorIs(s.t, s.Store.Fail(s.ctx, uuid.NewString(), "no", now), scaleouttype.ErrNotFound)
}

func stop(s suite) {
	now := s.Clock.Now()
	pending := s.pending(0, 2)
	got, err := s.Store.Stop(s.ctx, pending.ID, now)
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Canceled, got.Status)
	require.Equal(s.t, "stopped before it started", got.Error)
	var c *execution.ConflictError
	_, err = s.Store.Stop(s.ctx, pending.ID, now)
	require.ErrorAs(s.t, err, &c, "a final execution cannot be stopped")
	_, err = s.Store.Claim(s.ctx, pending.ID, s.session(), now)
	require.ErrorAs(s.t, err, &c, "a canceled execution is never claimed")

	running := s.pending(0, 2)
	_, err = s.Store.Claim(s.ctx, running.ID, s.session(), now)
	require.NoError(s.t, err)
	got, err = s.Store.Stop(s.ctx, running.ID, now)
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Stopping, got.Status)
	got, err = s.Store.Stop(s.ctx, running.ID, now)
	require.NoError(s.t, err, "stopping twice is fine")
	require.Equal(s.t, execution.Stopping, got.Status)

	_, err = s.Store.Stop(s.ctx, uuid.NewString(), now)
	require.ErrorIs(s.t, err, scaleouttype.ErrNotFound)
}

// ids lists the executions' ids.
func ids(list []execution.Execution) []string {
	var out []string
	for _, e := range list {
		out = append(out, e.ID)
	}
	return out
}

func list(s suite) {
	folder := s.name("folder")
	base := s.Clock.Now().Add(-time.Hour)
	var made []string
	for i := range 7 {
		pkg := "a"
		if i%2 == 1 {
			pkg = "b"
		}
		e := execution.Execution{
			ID: uuid.Must(uuid.NewV7()).String(), Folder: folder, Project: "p", Package: pkg, Pool: "exectest",
			Status: execution.Pending, Definition: []byte(`{}`), CreatedAt: base.Add(time.Duration(i) * time.Minute),
		}
		require.NoError(s.t, s.Store.Create(s.ctx, e))
		made = append(made, e.ID)
	}
	_, err := s.Store.Stop(s.ctx, made[6], base)
	require.NoError(s.t, err)

	listIDs := func(f scaleouttype.ExecutionFilter) ([]string, string) {
		p, err := s.Store.List(s.ctx, f, s.Clock.Now())
		require.NoError(s.t, err)
		require.NotNil(s.t, p.Executions, "an empty page is an empty list")
		for _, e := range p.Executions {
			require.Nil(s.t, e.Definition, "lists leave the definition out")
		}
		return ids(p.Executions), p.Next
	}
	rev := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, made[i])
		}
		return out
	}

	got, _ := listIDs(scaleouttype.ExecutionFilter{Folder: folder})
	require.Equal(s.t, rev(6, 5, 4, 3, 2, 1, 0), got, "newest first")
	got, _ = listIDs(scaleouttype.ExecutionFilter{Folder: folder, Project: "p", Package: "a"})
	require.Equal(s.t, rev(6, 4, 2, 0), got)
	got, _ = listIDs(scaleouttype.ExecutionFilter{Folder: folder, Status: execution.Canceled})
	require.Equal(s.t, rev(6), got)
	got, _ = listIDs(scaleouttype.ExecutionFilter{Folder: folder, Since: base.Add(2 * time.Minute), Until: base.Add(4 * time.Minute)})
	require.Equal(s.t, rev(4, 3, 2), got, "since and until are inclusive")
	got, _ = listIDs(scaleouttype.ExecutionFilter{Folder: folder + "-none"})
	require.Empty(s.t, got)

	// Pages of 3 walk the whole list once.
	var all []string
	cursor := ""
	for range 5 {
		page, next := listIDs(scaleouttype.ExecutionFilter{Folder: folder, Limit: 3, Cursor: cursor})
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(s.t, rev(6, 5, 4, 3, 2, 1, 0), all)

	// Without folder, package or status: by day, here within the last day.
	got, _ = listIDs(scaleouttype.ExecutionFilter{Since: base.Add(-time.Minute), Project: "p", Limit: 1000})
	require.Subset(s.t, got, rev(0, 1, 2, 3, 4, 5, 6))

	_, err = s.Store.List(s.ctx, scaleouttype.ExecutionFilter{Folder: folder, Cursor: "garbage!"}, s.Clock.Now())
	require.ErrorIs(s.t, err, scaleouttype.ErrBadCursor)
}

// listAll pages through a listing with f.Limit and returns the ids.
func (s suite) listAll(f scaleouttype.ExecutionFilter, now time.Time) []string {
	s.t.Helper()
	var out []string
	for range 200 {
		p, err := s.Store.List(s.ctx, f, now)
		require.NoError(s.t, err)
		require.LessOrEqual(s.t, len(p.Executions), f.Limit)
		for _, e := range p.Executions {
			require.Nil(s.t, e.Definition, "lists leave the definition out")
			require.Nil(s.t, e.Tasks, "and the task summaries")
		}
		out = append(out, ids(p.Executions)...)
		if p.Next == "" {
			return out
		}
		f.Cursor = p.Next
	}
	s.t.Fatal("the listing did not end")
	return nil
}

// Listings go newest first and page through with cursors, across days,
// by folder, project, package, status and time.
func listFiltersAndPages(s suite) {
	folder, project, pool := s.name("folder"), s.name("proj"), s.name("idle")
	// 3 days ago, 11:00 UTC: 60 executions, one every 50 minutes, over 3 days.
	now := s.Clock.Now()
	base := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -3).Add(11 * time.Hour)
	type made struct {
		id      string
		project string
		status  execution.Status
	}
	var all []made // oldest first
	sess := s.session()
	for i := range 60 {
		e := execution.Execution{
			ID: uuid.Must(uuid.NewV7()).String(), Folder: folder, Project: project, Package: "a", Pool: pool,
			Status: execution.Pending, Definition: []byte(`{}`), CreatedAt: base.Add(time.Duration(i) * 50 * time.Minute),
		}
		if i%3 == 1 {
			e.Project, e.Package = project+"-other", "b"
		}
		require.NoError(s.t, s.Store.Create(s.ctx, e))
		m := made{id: e.ID, project: e.Project, status: execution.Pending}
		switch i % 4 {
		case 1:
			_, err := s.Store.Stop(s.ctx, e.ID, now)
			require.NoError(s.t, err)
			m.status = execution.Canceled
		case 2:
			_, err := s.Store.Claim(s.ctx, e.ID, sess, now)
			require.NoError(s.t, err)
			m.status = execution.Running
		}
		all = append(all, m)
	}
	newest := func(keep func(made) bool) []string {
		var out []string
		for _, m := range slices.Backward(all) {
			if keep(m) {
				out = append(out, m.id)
			}
		}
		return out
	}
	every := func(made) bool { return true }
	last := base.Add(60 * 50 * time.Minute)
	for _, tc := range []struct {
		name string
		f    scaleouttype.ExecutionFilter
		want []string
	}{
		{"folder", scaleouttype.ExecutionFilter{Folder: folder, Limit: 7}, newest(every)},
		{"folder, one page", scaleouttype.ExecutionFilter{Folder: folder, Limit: 1000}, newest(every)},
		{"folder and project", scaleouttype.ExecutionFilter{Folder: folder, Project: project, Limit: 4}, newest(func(m made) bool { return m.project == project })},
		{"folder and status", scaleouttype.ExecutionFilter{Folder: folder, Status: execution.Canceled, Limit: 3}, newest(func(m made) bool { return m.status == execution.Canceled })},
		{"package", scaleouttype.ExecutionFilter{Folder: folder, Project: project + "-other", Package: "b", Limit: 6}, newest(func(m made) bool { return m.project != project })},
		{"package and status", scaleouttype.ExecutionFilter{Folder: folder, Project: project, Package: "a", Status: execution.Running, Limit: 2},
			newest(func(m made) bool { return m.project == project && m.status == execution.Running })},
		{"days, by project", scaleouttype.ExecutionFilter{Project: project, Since: base, Until: last, Limit: 5}, newest(func(m made) bool { return m.project == project })},
		{"days, final status", scaleouttype.ExecutionFilter{Project: project, Status: execution.Canceled, Since: base, Until: last, Limit: 1},
			newest(func(m made) bool { return m.project == project && m.status == execution.Canceled })},
		{"days, by default the last 30", scaleouttype.ExecutionFilter{Project: project, Limit: 9}, newest(func(m made) bool { return m.project == project })},
		{"status that is not final", scaleouttype.ExecutionFilter{Project: project + "-other", Status: execution.Running, Limit: 2},
			newest(func(m made) bool { return m.project != project && m.status == execution.Running })},
		{"since and until", scaleouttype.ExecutionFilter{Folder: folder, Since: base.Add(100 * time.Minute), Until: base.Add(24 * 50 * time.Minute), Limit: 5},
			newest(func(m made) bool { i := slices.Index(all, m); return i >= 2 && i <= 24 })},
	} {
		s.t.Run(tc.name, func(t *testing.T) {
			s := s
			s.t = t
			require.NotEmpty(t, tc.want)
			require.Equal(t, tc.want, s.listAll(tc.f, now))
		})
	}

	p, err := s.Store.List(s.ctx, scaleouttype.ExecutionFilter{Folder: folder, Limit: 2}, now)
	require.NoError(s.t, err)
	require.NotEmpty(s.t, p.Next)
	_, err = s.Store.List(s.ctx, scaleouttype.ExecutionFilter{Folder: folder, Project: project, Cursor: p.Next}, now)
	require.ErrorIs(s.t, err, scaleouttype.ErrBadCursor, "a cursor of another filter")
	p, err = s.Store.List(s.ctx, scaleouttype.ExecutionFilter{Folder: folder, Since: now, Until: base}, now)
	require.NoError(s.t, err)
	require.Empty(s.t, p.Executions, "since after until")
	p, err = s.Store.List(s.ctx, scaleouttype.ExecutionFilter{Project: project, Until: base.Add(-31 * 24 * time.Hour)}, now)
	require.NoError(s.t, err)
	require.Empty(s.t, p.Executions)
}

// ByStatus lists one status that is not final, oldest first, with what
// the reconciler needs (pool, attempt, worker, session).
func byStatus(s suite) {
	pool := s.name("idle")
	// Weeks ago (other tests' executions are newer), at a random minute
	// of that day, away from other runs of this case on a shared table.
	base := s.Clock.Now().AddDate(0, 0, -60).Add(-time.Duration(rand.IntN(24*60)) * time.Minute)
	var made []string
	for i := range 40 {
		e := execution.Execution{
			ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: s.name("pkg"), Pool: pool,
			Status: execution.Pending, Definition: []byte(`{}`), CreatedAt: base.Add(time.Duration(i) * time.Second),
		}
		require.NoError(s.t, s.Store.Create(s.ctx, e))
		made = append(made, e.ID)
	}
	// Only this run's executions: other tests leave theirs in a shared table.
	ours := func(list []execution.Execution) []string {
		var out []string
		for _, e := range list {
			if e.Pool == pool {
				out = append(out, e.ID)
			}
		}
		return out
	}
	before := base.Add(time.Minute)
	list, err := s.Store.ByStatus(s.ctx, execution.Pending, before, 1000)
	require.NoError(s.t, err)
	require.True(s.t, slices.IsSortedFunc(list, func(a, b execution.Execution) int { return a.CreatedAt.Compare(b.CreatedAt) }), "oldest first")
	require.Equal(s.t, made, ours(list), "every one (and the pool is there)")
	first, err := s.Store.ByStatus(s.ctx, execution.Pending, before, 5)
	require.NoError(s.t, err)
	require.Equal(s.t, ids(list)[:5], ids(first), "a limit keeps the oldest")
	list, err = s.Store.ByStatus(s.ctx, execution.Pending, base.Add(4*time.Second), 1000)
	require.NoError(s.t, err)
	require.Equal(s.t, made[:5], ours(list), "created up to createdBefore")

	// Eleven running: ten held by a session whose lease ran out an hour
	// ago, one by a live one.
	deadID := s.workerID("dead")
	_, dead, _, err := s.Registry.Register(s.ctx, registrytype.Registration{ID: deadID, Machine: "m", Pools: []string{pool}, MaxTasks: 10}, time.Hour)
	require.NoError(s.t, err)
	for _, id := range made[:10] {
		_, err := s.Store.Claim(s.ctx, id, dead, s.Clock.Now())
		require.NoError(s.t, err)
	}
	s.Clock.Add(2 * time.Hour)
	now := s.Clock.Now()
	held, err := s.Store.Claim(s.ctx, made[10], s.session(), now)
	require.NoError(s.t, err)
	running, err := s.Store.ByStatus(s.ctx, execution.Running, before, 1000)
	require.NoError(s.t, err)
	require.Equal(s.t, made[:11], ours(running))
	i := slices.IndexFunc(running, func(e execution.Execution) bool { return e.ID == made[0] })
	require.Equal(s.t, 1, running[i].Attempt)
	require.Equal(s.t, dead.WorkerID, running[i].WorkerID)
	require.Equal(s.t, dead.ID, running[i].Session, "the session is there")

	// Recovering one with no lost retries left ends it: it is no longer listed.
	ended, err := s.Store.Recover(s.ctx, running[i], now, now)
	require.NoError(s.t, err)
	require.Equal(s.t, execution.EndedUnexpectedly, ended.Status)
	_, err = s.Store.Finish(s.ctx, execution.LeaseOf(held), execution.Result{Status: execution.Succeeded}, now)
	require.NoError(s.t, err)
	for _, st := range []execution.Status{execution.Pending, execution.Running} {
		list, err := s.Store.ByStatus(s.ctx, st, before, 1000)
		require.NoError(s.t, err)
		require.NotContains(s.t, ids(list), made[0])
		require.NotContains(s.t, ids(list), made[10])
	}
	list, err = s.Store.ByStatus(s.ctx, execution.Succeeded, before, 1000)
	require.NoError(s.t, err)
	require.Empty(s.t, list, "final statuses are not listed")
}

// Of two reconcilers that read a pending execution, only one sends its
// message again.
func markEnqueued(s suite) {
	e := s.pending(0, 2)
	now := s.Clock.Now()
	require.NoError(s.t, s.Store.MarkEnqueued(s.ctx, e, now.Add(time.Second)))
	var c *execution.ConflictError
	require.ErrorAs(s.t, s.Store.MarkEnqueued(s.ctx, e, now.Add(time.Second)), &c, "only one of two reconcilers sends")
	got, err := s.Store.Get(s.ctx, e.ID)
	require.NoError(s.t, err)
	require.Equal(s.t, 1, got.Requeues)
	require.Equal(s.t, now.Add(time.Second), *got.EnqueuedAt)
	require.NoError(s.t, s.Store.MarkEnqueued(s.ctx, got, now.Add(2*time.Second)))
	got, err = s.Store.Get(s.ctx, e.ID)
	require.NoError(s.t, err)
	require.Equal(s.t, 2, got.Requeues)

	_, err = s.Store.Claim(s.ctx, e.ID, s.session(), now)
	require.NoError(s.t, err)
	require.ErrorAs(s.t, s.Store.MarkEnqueued(s.ctx, got, now.Add(3*time.Second)), &c, "claimed since it was read")
	require.ErrorIs(s.t, s.Store.MarkEnqueued(s.ctx, s.newPending(0, 2), now), scaleouttype.ErrNotFound)
}

// A Finish sent again after it applied (its response was lost, and the SDK
// retried) reports what it recorded; another write is still a lost lease.
func finishSentTwice(s suite) {
	e := s.pending(0, 2)
	claimed, err := s.Store.Claim(s.ctx, e.ID, s.session(), s.Clock.Now())
	require.NoError(s.t, err)
	now := s.Clock.Now()
	res := execution.Result{Status: execution.Succeeded}
	first, err := s.Store.Finish(s.ctx, execution.LeaseOf(claimed), res, now)
	require.NoError(s.t, err)
	again, err := s.Store.Finish(s.ctx, execution.LeaseOf(claimed), res, now)
	require.NoError(s.t, err)
	require.Equal(s.t, first, again)

	_, err = s.Store.Finish(s.ctx, execution.LeaseOf(claimed), res, now.Add(time.Second))
	require.ErrorIs(s.t, err, execution.ErrLeaseLost, "a later write")
	_, err = s.Store.Finish(s.ctx, execution.LeaseOf(claimed), execution.Result{Status: execution.Failed}, now)
	require.ErrorIs(s.t, err, execution.ErrLeaseLost, "another result")
	_, err = s.Store.Finish(s.ctx, execution.Lease{ID: uuid.NewString(), WorkerID: "w", Session: "s", Attempt: 1}, res, now)
	require.ErrorIs(s.t, err, execution.ErrLeaseLost, "no such execution")
}

// A running execution whose session was replaced (its worker restarted
// after its lease ran out) is stopping all the same, though no session is
// told; the recovery of the lost attempt ends it canceled.
func stopWithoutItsSession(s suite) {
	e := s.pending(0, 2)
	id := s.workerID("a")
	a, _ := s.register(id)
	claimed, err := s.Store.Claim(s.ctx, e.ID, a, s.Clock.Now())
	require.NoError(s.t, err)
	require.NoError(s.t, s.renew(a, claimed))
	s.Clock.Add(lease + time.Second)
	_, prev := s.register(id)
	require.Equal(s.t, a.ID, prev.ID)

	stopped, err := s.Store.Stop(s.ctx, e.ID, s.Clock.Now())
	require.NoError(s.t, err)
	require.Equal(s.t, execution.Stopping, stopped.Status)
	sig, err := s.Registry.Signals(s.ctx, id)
	require.NoError(s.t, err)
	require.Empty(s.t, sig.Stops, "the new session is not asked to stop its predecessor's run")

	got, recovered, err := s.Store.Reap(s.ctx, prev, prev.Runs[0], s.Clock.Now())
	require.NoError(s.t, err)
	require.True(s.t, recovered)
	require.Equal(s.t, execution.Canceled, got.Status)
	require.Len(s.t, got.Attempts, 1)
	require.Equal(s.t, execution.OutcomeLost, got.Attempts[0].Outcome)
}

// A dataflow task's statistics, tap included, are kept with its summary
// as given (the JSON of the tap's rows too), and a summary without
// statistics has none.
func dataFlowStatisticsKept(s suite) {
	e := s.pending(0, 2)
	claimed, err := s.Store.Claim(s.ctx, e.ID, s.session(), s.Clock.Now())
	require.NoError(s.t, err)
	flow := &execution.DataFlowStats{
		Paths:    []execution.PathRows{{Path: "read.out", Rows: 1 << 40}, {Path: "split.rest", Rows: 0}},
		RowsRead: 1 << 40, RowsWritten: 3, RowsRejected: 2, MemoryPeakBytes: 65536, PathsOmitted: 3, Truncated: true,
		Tap: &execution.TapRows{Path: "read.out", Columns: []string{"id", "name", "at"},
			Rows: []json.RawMessage{json.RawMessage(`[9007199254740993,"a",null]`), json.RawMessage(`[2,"***",true]`)}, Truncated: true},
	}
	res := execution.Result{Status: execution.Succeeded, Tasks: []execution.TaskSummary{
		{Path: "write", Status: "succeeded", Attempts: 1},
		{Path: "flow", Status: "succeeded", Attempts: 1, DataFlow: flow},
	}}
	done, err := s.Store.Finish(s.ctx, execution.LeaseOf(claimed), res, s.Clock.Now())
	require.NoError(s.t, err)
	got, err := s.Store.Get(s.ctx, e.ID)
	require.NoError(s.t, err)
	require.Equal(s.t, done, got)
	require.Nil(s.t, got.Tasks[0].DataFlow)
	require.Equal(s.t, flow, got.Tasks[1].DataFlow)
	require.Equal(s.t, scaleouttype.DataStatistics{ExecutionID: e.ID, Statistics: []scaleouttype.DataStatistic{
		{Task: "flow", Path: "read.out", Rows: 1 << 40}, {Task: "flow", Path: "split.rest", Rows: 0}}, Truncated: true}, got.DataStatistics())
}
