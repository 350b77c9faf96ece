package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker"
)

// resultRunner returns a fixed result at once.
type resultRunner struct{ res execution.Result }

func (r resultRunner) Run(context.Context, execution.Execution) execution.Result { return r.res }

// bigResult is a result as large as an execution keeps: a long error and
// task summaries up to their caps.
func bigResult(status execution.Status) execution.Result {
	res := execution.Result{Status: status, Error: strings.Repeat("E", 100_000)}
	for i := range 300 {
		res.Tasks = append(res.Tasks, execution.TaskSummary{Path: fmt.Sprintf("t%d", i), Status: string(status),
			Error: strings.Repeat("e", 2000)})
	}
	return res
}

// fullStore is a store whose executions have room for only room more
// bytes, as an item near DynamoDB's size limit (it gathered a long
// history): a result or an attempt record that takes more is refused with
// execution.ErrTooLarge, as the DynamoDB store refuses it (that store's own
// tests write such an item). Sizes are measured as what the write records:
// the result as Finish keeps it, the attempt with its reason cut.
type fullStore struct {
	worker.Store
	room int
}

func (s fullStore) refuse(id, what string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) <= s.room {
		return nil
	}
	return fmt.Errorf("update execution %s: %w: %s of %d bytes, %d left in the item", id, execution.ErrTooLarge, what, len(b), s.room)
}

func (s fullStore) Finish(ctx context.Context, l execution.Lease, r execution.Result, now time.Time) (execution.Execution, error) {
	if err := s.refuse(l.ID, "the result", r.Fit()); err != nil {
		return execution.Execution{}, err
	}
	return s.Store.Finish(ctx, l, r, now)
}

func (s fullStore) Retry(ctx context.Context, l execution.Lease, rec execution.AttemptRecord, notBefore time.Time) (execution.Execution, error) {
	kept := rec
	kept.Reason = execution.Clip(kept.Reason, execution.MaxReasonBytes)
	if err := s.refuse(l.ID, "the attempt record", kept); err != nil {
		return execution.Execution{}, err
	}
	return s.Store.Retry(ctx, l, rec, notBefore)
}

// room is what is left in a nearly full execution: less than an attempt
// record with its reason cut to MaxReasonBytes, more than a result that
// says its own could not be recorded.
const room = 950

// startFull runs a worker on the bundle's store with its executions
// nearly full.
func (b bundle) startFull(t *testing.T, r worker.Runner, cfg worker.Config) {
	t.Helper()
	cfg.PollWait, cfg.Registry, cfg.Pools, cfg.Lease, cfg.Logger = time.Second, b.reg, []string{pool}, 3*time.Second, testLogger(t)
	w, err := worker.New(fullStore{Store: b.store, room: room}, b.queue, r, cfg)
	require.NoError(t, err)
	b.run(t, w)
}

// A result the store refuses as too large does not leave the execution
// running until its lease runs out on a live worker: it ends failed at
// once, saying what the package did and why its result is not there.
func TestResultTooLargeToRecordEndsFailed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startFull(t, resultRunner{bigResult(execution.Succeeded)}, worker.Config{ID: "w-big"})
	e := b.submitWith(t, 0, "true")

	got := b.waitStatus(t, e.ID, execution.Failed)
	require.Equal(t, 1, got.Attempt, "ended by the attempt that ran it, not by a takeover")
	require.Empty(t, got.Attempts)
	require.Equal(t, "w-big", got.WorkerID)
	require.Contains(t, got.Error, "the package ended succeeded, but its result could not be recorded")
	require.Contains(t, got.Error, "too large")
	require.LessOrEqual(t, len(got.Error), execution.MaxReasonBytes)
	require.Empty(t, got.Tasks)
	b.queueEmpty(t)
}

// A failed attempt that cannot be recorded for a retry ends the execution
// failed, saying so, rather than leaving it to the reconciler.
func TestAttemptTooLargeToRecordEndsFailed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := execution.Result{Status: execution.Failed, Error: strings.Repeat("R", 100_000)}
	b.startFull(t, resultRunner{res}, worker.Config{ID: "w-retry", RetryBackoff: time.Millisecond})
	e := b.submitWith(t, 3, "true")

	got := b.waitStatus(t, e.ID, execution.Failed)
	require.Equal(t, 1, got.Attempt)
	require.Empty(t, got.Attempts)
	require.Contains(t, got.Error, "attempt 1 ended (RRRR")
	require.Contains(t, got.Error, "bytes cut")
	require.Contains(t, got.Error, "could not be handed back for another attempt")
	require.LessOrEqual(t, len(got.Error), execution.MaxReasonBytes)
	b.queueEmpty(t)
}
