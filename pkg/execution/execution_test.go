package execution

import (
	"errors"
	"strings"
	"testing"

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
		{Succeeded, Running, false},
		{Failed, Succeeded, false},
		{Pending, Succeeded, false},
		{Canceled, Pending, false},
		{Created, Pending, true},
	} {
		require.Equal(t, tc.ok, CanTransition(tc.from, tc.to), "%s -> %s", tc.from, tc.to)
	}
	for _, s := range Statuses {
		if s.Final() {
			for _, to := range Statuses {
				require.False(t, CanTransition(s, to), "final %s must not move to %s", s, to)
			}
		}
	}
	require.ElementsMatch(t, []Status{Running, Stopping}, From(Succeeded))
}

func TestStatusValid(t *testing.T) {
	t.Parallel()
	require.True(t, Running.Valid())
	require.False(t, Status("done").Valid())
}

func TestValidateSubmission(t *testing.T) {
	t.Parallel()
	good := Execution{Folder: "f", Project: "p", Package: "load.yaml", Pool: "default", Command: []string{"true"}}
	require.NoError(t, ValidateSubmission(good))

	bad := good
	bad.Folder = ""
	bad.Package = "../etc"
	bad.Command = nil
	err := ValidateSubmission(bad)
	require.Error(t, err)
	for _, want := range []string{`folder ""`, `package "../etc"`, "command: give the program"} {
		require.Contains(t, err.Error(), want)
	}

	long := good
	long.Command = []string{"echo", strings.Repeat("x", MaxCommandLen)}
	require.ErrorContains(t, ValidateSubmission(long), "bytes, at most")

	empty := good
	empty.Command = []string{""}
	require.ErrorContains(t, ValidateSubmission(empty), "program name is empty")
}

func TestLeaseLost(t *testing.T) {
	t.Parallel()
	c := &ConflictError{ID: "x", Want: "running", Current: &Execution{Status: Succeeded, Attempt: 2, WorkerID: "w"}}
	var err error = LeaseLost{c}
	require.True(t, errors.Is(err, ErrLeaseLost))
	var ce *ConflictError
	require.True(t, errors.As(err, &ce))
	require.Contains(t, err.Error(), "is succeeded (attempt 2")
}
