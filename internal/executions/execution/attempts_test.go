package execution

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryBudgets(t *testing.T) {
	t.Parallel()
	e := Execution{Retries: 2, LostRetries: 1}
	require.True(t, e.CanRetry(), "attempt 1 of 3")
	e.Attempts = []AttemptRecord{{Outcome: OutcomeFailed}, {Outcome: OutcomeReleased}, {Outcome: OutcomeReleased}}
	require.Equal(t, 2, e.CountedAttempts(), "released attempts do not count")
	require.True(t, e.CanRetry())
	e.Attempts = append(e.Attempts, AttemptRecord{Outcome: OutcomeLost})
	require.Equal(t, 2, e.CountedAttempts(), "lost attempts do not count against the package's retries")
	require.True(t, e.CanRetry())
	require.Equal(t, 1, e.LostAttempts())
	require.False(t, e.CanRetryLost(), "the one lost retry is spent")
	e.Attempts = append(e.Attempts, AttemptRecord{Outcome: OutcomeFailed})
	require.False(t, e.CanRetry(), "the third counted attempt is the last")
	require.False(t, Execution{}.CanRetry())
	require.False(t, Execution{}.CanRetryLost())
	require.True(t, Execution{LostRetries: DefaultLostRetries}.CanRetryLost())
}

func TestLost(t *testing.T) {
	t.Parallel()
	started := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	lease := started.Add(time.Minute)
	e := Execution{ID: "x", Status: Running, Attempt: 1, WorkerID: "w1", StartedAt: &started, LostRetries: 1}

	got, err := Lost(e, Running, lease)
	require.NoError(t, err)
	require.Equal(t, Running, got.Next)
	require.Equal(t, AttemptRecord{Attempt: 1, WorkerID: "w1", StartedAt: started, EndedAt: lease, Outcome: OutcomeLost,
		Reason: "worker w1 lost attempt 1 (its lease expired at 2026-11-25T10:01:00Z)"}, got.Record)
	got, err = Lost(e, Pending, lease)
	require.NoError(t, err)
	require.Equal(t, Pending, got.Next)

	e.LostRetries, e.Retries = 0, 5
	got, err = Lost(e, Running, lease)
	require.NoError(t, err)
	require.Equal(t, EndedUnexpectedly, got.Next, "package retries do not pay for a lost attempt")
	require.Equal(t, "worker w1 lost attempt 1 (its lease expired at 2026-11-25T10:01:00Z); no lost-attempt retries left (lost_retries 0)", got.Reason)

	e.Status, e.LostRetries = Stopping, 3
	got, err = Lost(e, Running, lease)
	require.NoError(t, err)
	require.Equal(t, Canceled, got.Next, "a stopping execution whose worker was lost ends canceled")

	e.Status = Pending
	_, err = Lost(e, Running, lease)
	require.Error(t, err)
}

func TestStagesInJSON(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	claimed := created.Add(20 * time.Millisecond)
	ended := created.Add(time.Second)
	e := Execution{ID: "x", Status: Succeeded, CreatedAt: created, StartedAt: &claimed, EndedAt: &ended}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, map[string]any{
		"accepted": "2026-11-25T10:00:00Z", "enqueued": "2026-11-25T10:00:00Z",
		"claimed": "2026-11-25T10:00:00.02Z", "started": "2026-11-25T10:00:00.02Z", "ended": "2026-11-25T10:00:01Z",
	}, got["stages"])
	require.Equal(t, "2026-11-25T10:00:00Z", got["created_at"], "the existing fields stay")
	require.Equal(t, "x", got["id"])

	requeued := created.Add(3 * time.Minute)
	e.EnqueuedAt = &requeued
	require.Equal(t, &requeued, e.ComputeStages().Enqueued, "a later send is the enqueued stage")

	var back Execution
	require.NoError(t, json.Unmarshal(b, &back), "the JSON reads back")
	require.Equal(t, e.ID, back.ID)
}
