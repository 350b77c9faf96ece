package exectest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testclock"
	"github.com/scaleout/scaleout/internal/worker"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Store is the execution store under test: what the worker (worker.Store),
// the API (api.Store) and the reconciler (reconcile.Store) ask of it.
type Store interface {
	worker.Store
	Create(ctx context.Context, e execution.Execution) error
	CreateIdempotent(ctx context.Context, e execution.Execution, idem scaleouttype.Idempotency) (execution.Execution, bool, error)
	Get(ctx context.Context, id string) (execution.Execution, error)
	List(ctx context.Context, f scaleouttype.ExecutionFilter, now time.Time) (scaleouttype.ExecutionPage, error)
	Stop(ctx context.Context, id string, now time.Time) (execution.Execution, error)
	ByStatus(ctx context.Context, status execution.Status, createdBefore time.Time, limit int) ([]execution.Execution, error)
	Fail(ctx context.Context, id, reason string, now time.Time) error
	MarkEnqueued(ctx context.Context, e execution.Execution, now time.Time) error
	Recover(ctx context.Context, e execution.Execution, now, deadSince time.Time) (execution.Execution, error)
}

// Harness is one store under test, with its registry, whose clock the
// suite moves (the registry must read the time from Clock).
type Harness struct {
	Store    Store
	Registry worker.Registry
	Clock    *testclock.Clock
}

const lease = 30 * time.Second

type suite struct {
	t *testing.T
	Harness
	ctx context.Context
}

// Run runs every case against the stores newHarness makes (one per case;
// they may share tables: every case uses fresh ids and names).
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	cases := []struct {
		name string
		run  func(s suite)
	}{
		// The store.
		{"CreateAndGet", createAndGet},
		{"CreateIdempotent", createIdempotent},
		{"SizeLimits", sizeLimits},
		{"FailOnlyPending", failOnlyPending},
		{"Stop", stop},
		{"StopWithoutItsSession", stopWithoutItsSession},
		{"List", list},
		{"ListFiltersAndPages", listFiltersAndPages},
		{"ByStatus", byStatus},
		{"MarkEnqueuedOnce", markEnqueued},
		{"FinishSentTwice", finishSentTwice},
		{"DataFlowStatisticsKept", dataFlowStatisticsKept},
		// The lease rules.
		{"ClaimIsExclusive", claimIsExclusive},
		{"WritesNeedTheLease", writesNeedTheLease},
		{"LiveSessionIsNotTakenOver", liveSessionIsNotTakenOver},
		{"DeadSessionIsTakenOverOnItsLostBudget", deadSessionIsTakenOver},
		{"NoLostRetriesLeftEndsUnexpectedly", noLostRetriesLeft},
		{"ExpiredSessionCannotRenew", expiredSessionCannotRenew},
		{"RegistrationWaitsForALiveSessionAndHandsOverOrphans", registration},
		{"StopReachesTheSession", stopReachesTheSession},
		{"TakeoverRaceHasOneWinner", takeoverRace},
		{"ReapRecoversRecordedRunsOnce", reap},
		{"AbandonedAttemptIsRecovered", abandoned},
		{"RecoverAppliesTheLostAttemptRule", recoverLost},
		{"RetryAndReleaseBudgets", retryAndRelease},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c.run(suite{t: t, Harness: h, ctx: context.Background()})
		})
	}
}

// name is unique to this run of the case: for folders, projects, pools
// and worker ids that no other test uses.
func (s suite) name(prefix string) string { return fmt.Sprintf("%s-%s", prefix, uuid.NewString()[:8]) }

// workerID is unique per test.
func (s suite) workerID(name string) string { return s.name(name) }

// newPending is a pending execution (not stored) in a pool no worker or
// reconciler of a shared table serves.
func (s suite) newPending(retries, lostRetries int) execution.Execution {
	return execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "lease", Project: "rules", Package: s.name("pkg"), Pool: "exectest",
		Status: execution.Pending, Definition: []byte(`{"name":"p","tasks":[{"name":"t","type":"sleep","with":{"duration":"0s"}}]}`),
		Retries: retries, LostRetries: lostRetries, CreatedAt: s.Clock.Now(),
	}
}

// pending stores a new pending execution.
func (s suite) pending(retries, lostRetries int) execution.Execution {
	s.t.Helper()
	e := s.newPending(retries, lostRetries)
	require.NoError(s.t, s.Store.Create(s.ctx, e))
	return e
}

func (s suite) register(id string) (registrytype.Session, registrytype.SessionState) {
	s.t.Helper()
	_, sess, prev, err := s.Registry.Register(s.ctx, registrytype.Registration{ID: id, Machine: "m", Pools: []string{"exectest"}, MaxTasks: 4}, lease)
	require.NoError(s.t, err)
	return sess, prev
}

// session registers a worker of its own and returns its session.
func (s suite) session() registrytype.Session {
	s.t.Helper()
	sess, _ := s.register(s.workerID("w"))
	return sess
}

func (s suite) renew(sess registrytype.Session, runs ...execution.Execution) error {
	var rs []registrytype.Run
	for _, e := range runs {
		rs = append(rs, registrytype.Run{ExecutionID: e.ID, Attempt: e.Attempt})
	}
	_, err := s.Registry.Renew(s.ctx, sess, s.Clock.Now().Add(lease), rs, nil)
	return err
}
