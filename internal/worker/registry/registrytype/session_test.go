package registrytype_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
)

func TestSessionRules(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := registrytype.SessionState{WorkerID: "w", ID: "s1", LeaseUntil: now.Add(time.Minute), Renewed: now, Lease: time.Minute,
		Runs: []registrytype.Run{{ExecutionID: "e1", Attempt: 2}}, Exists: true}
	for _, tc := range []struct {
		name string
		st   registrytype.SessionState
		id   string
		at   time.Time
		want bool
	}{
		{"current and alive", st, "s1", now, true},
		{"another session", st, "s0", now, false},
		{"lease ran out", st, "s1", now.Add(time.Minute), false},
		{"signed off", func() registrytype.SessionState { s := st; s.SignedOff = true; return s }(), "s1", now, false},
		{"no item", registrytype.SessionState{WorkerID: "w"}, "", now, false},
	} {
		require.Equal(t, tc.want, tc.st.Holds(tc.id, tc.at), tc.name)
	}
	require.True(t, st.Records("e1", 2))
	require.False(t, st.Records("e1", 1), "another attempt")
	claimed := now.Add(-2 * time.Minute)
	require.True(t, st.Abandoned("e2", 1, claimed), "renewed a lease after the claim without it")
	require.False(t, st.Abandoned("e1", 2, claimed), "recorded")
	require.False(t, st.Abandoned("e2", 1, now.Add(-30*time.Second)), "not a whole lease since the claim")
	unknown := st
	unknown.Lease = 0
	require.False(t, unknown.Abandoned("e2", 1, claimed), "a lease of unknown length abandons nothing")
}

func TestValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, registrytype.Registration{ID: "w-1", Pools: []string{"default"}, MaxTasks: 1}.Validate())
	err := registrytype.Registration{ID: "bad id", Pools: []string{""}}.Validate()
	require.ErrorIs(t, err, registrytype.ErrInvalid)
	require.ErrorContains(t, err, "max tasks 0")
	require.ErrorIs(t, registrytype.Changes{}.Validate(), registrytype.ErrInvalid, "nothing to change")
}
