package execution

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTransitions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, to Status
		ok       bool
	}{
		{Pending, Running, true},
		{Running, Succeeded, true},
		{Running, Failed, true},
		{Running, Pending, true},
		{Stopping, Canceled, true},
		{Succeeded, Running, false},
		{Failed, Succeeded, false},
		{Pending, Succeeded, false},
		{Pending, Stopping, false},
		{Canceled, Pending, false},
		{Created, Pending, false},
	} {
		require.Equal(t, tc.ok, CanTransition(tc.from, tc.to), "%s -> %s", tc.from, tc.to)
	}
	require.Equal(t, []Status{Running, Stopping}, From(Succeeded))
	require.Equal(t, []Status{Pending, Running}, From(Running))

	tr, err := TransitionOf(OpFinish, Canceled)
	require.NoError(t, err)
	require.True(t, tr.Allows(Stopping))
	require.False(t, tr.Allows(Pending))
	_, err = TransitionOf(OpClaim, Succeeded)
	require.EqualError(t, err, `no transition "claim" to succeeded in the status table`)
	require.Panics(t, func() { MustTransition(OpRetry, Canceled) })
}

// The table is a state machine one can trust: every row is well formed,
// no status leaves a final one, every status an execution can be in is
// reached from submission, and each of them leads to a final status.
func TestTransitionTableCoherent(t *testing.T) {
	t.Parallel()
	type key struct {
		op Op
		to Status
	}
	seen := map[key]bool{}
	for _, tr := range Transitions {
		k := key{tr.Op, tr.To}
		require.False(t, seen[k], "one row per operation and target status: %s -> %s twice", tr.Op, tr.To)
		seen[k] = true
		require.True(t, tr.To.Valid(), "%s: unknown status %q", tr.Op, tr.To)
		require.NotEqual(t, Created, tr.To, "%s: no operation writes created", tr.Op)
		if tr.Op == OpSubmit {
			require.Empty(t, tr.From, "submission writes a new execution")
			require.Equal(t, Pending, tr.To)
			continue
		}
		require.NotEmpty(t, tr.From, "%s -> %s: from where?", tr.Op, tr.To)
		for _, from := range tr.From {
			require.True(t, from.Valid(), "%s: unknown status %q", tr.Op, from)
			require.False(t, from.Final(), "%s leaves the final status %s", tr.Op, from)
			require.NotEqual(t, Created, from, "%s: no execution is ever created and not pending", tr.Op)
		}
		require.Len(t, slices.Compact(slices.Clone(tr.From)), len(tr.From), "%s -> %s: a status twice", tr.Op, tr.To)
	}
	for _, s := range Statuses {
		if s.Final() {
			for _, to := range Statuses {
				require.False(t, CanTransition(s, to), "final %s must not move to %s", s, to)
			}
		}
	}

	// Reachable from submission, and each reachable status reaches a final one.
	reached := map[Status]bool{Pending: true}
	for grew := true; grew; {
		grew = false
		for _, tr := range Transitions {
			for _, from := range tr.From {
				if reached[from] && !reached[tr.To] {
					reached[tr.To], grew = true, true
				}
			}
		}
	}
	for _, s := range Statuses {
		if s == Created {
			require.False(t, reached[s], "created is the SSIS catalog's; Scaleout never stores it")
			continue
		}
		require.True(t, reached[s], "no operation leads to %s", s)
	}
	ends := map[Status]bool{}
	for _, s := range Statuses {
		ends[s] = s.Final()
	}
	for grew := true; grew; {
		grew = false
		for _, tr := range Transitions {
			for _, from := range tr.From {
				if ends[tr.To] && !ends[from] {
					ends[from], grew = true, true
				}
			}
		}
	}
	for s := range reached {
		require.True(t, ends[s], "an execution in %s can never end", s)
	}
	require.Equal(t, []Op{OpSubmit, OpRequeue, OpClaim, OpFail, OpStop, OpFinish, OpRetry, OpRelease, OpTakeOver, OpRecover}, Ops())
}

// Every outcome of the lost-attempt rule is a row: the next attempt at once
// is a take-over, the others are what a recovery writes.
func TestTransitionTableMatchesLost(t *testing.T) {
	t.Parallel()
	for _, from := range []Status{Running, Stopping} {
		for _, lostRetries := range []int{0, 1} {
			for _, rerun := range []Status{Running, Pending} {
				got, err := Lost(Execution{ID: "x", Status: from, LostRetries: lostRetries}, rerun, time.Time{})
				require.NoError(t, err)
				op := OpRecover
				if got.Next == Running {
					op = OpTakeOver
				}
				tr, err := TransitionOf(op, got.Next)
				require.NoError(t, err, "lost from %s (lost_retries %d, rerun %s)", from, lostRetries, rerun)
				require.True(t, tr.Allows(from), "%s from %s to %s", op, from, got.Next)
			}
		}
	}
}
