package execution

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStatusValid(t *testing.T) {
	t.Parallel()
	require.True(t, Running.Valid())
	require.False(t, Status("done").Valid())
}

func TestValidateSubmission(t *testing.T) {
	t.Parallel()
	good := Execution{Folder: "f", Project: "p", Package: "load.yaml", Pool: "default", Definition: []byte(`{}`)}
	require.NoError(t, ValidateSubmission(good))

	bad := good
	bad.Folder = ""
	bad.Package = "../etc"
	bad.Definition = nil
	err := ValidateSubmission(bad)
	require.Error(t, err)
	for _, want := range []string{`folder ""`, `package "../etc"`, "definition: give the package"} {
		require.Contains(t, err.Error(), want)
	}

	long := good
	long.Definition = []byte(`"` + strings.Repeat("x", MaxDefinitionBytes) + `"`)
	require.ErrorContains(t, ValidateSubmission(long), "bytes, at most")
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	e := Execution{Parameters: map[string]any{"token": "s3cret", "date": "2026-11-25"}, Sensitive: []string{"token"}}
	r := e.Redacted()
	require.Equal(t, "***", r.Parameters["token"])
	require.Equal(t, "2026-11-25", r.Parameters["date"])
	require.Equal(t, "s3cret", e.Parameters["token"], "the original is not changed")
}

func TestLeaseLost(t *testing.T) {
	t.Parallel()
	c := &ConflictError{ID: "x", Want: "running", Current: &Execution{Status: Succeeded, Attempt: 2, WorkerID: "w"}}
	var err error = LeaseLost{c}
	require.ErrorIs(t, err, ErrLeaseLost)
	var ce *ConflictError
	require.ErrorAs(t, err, &ce)
	require.Contains(t, err.Error(), "is succeeded (attempt 2")
}
