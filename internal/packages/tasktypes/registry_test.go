package tasktypes

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/task"
)

func TestNewRegistry(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	require.Equal(t, []string{"bulk_insert", "dataflow", "exec", "fail", "foreach", "http", "s3", "sequence", "set", "sleep", "sql"}, r.Names())
	for _, name := range []string{"exec", "http", "sleep", "fail", "set", "sql", "s3"} {
		typ, ok := r.Lookup(name)
		require.True(t, ok, name)
		require.NotNil(t, typ)
	}
}

func TestRegisterTwice(t *testing.T) {
	t.Parallel()
	r := task.NewRegistry()
	require.NoError(t, Register(r))
	err := Register(r)
	require.ErrorContains(t, err, `task type "exec" is registered already`)
	require.ErrorContains(t, err, `task type "set" is registered already`)
}

// Registries do not share an http client.
func TestRegistriesHaveTheirOwnHTTPClient(t *testing.T) {
	t.Parallel()
	a, _ := NewRegistry().Lookup("http")
	b, _ := NewRegistry().Lookup("http")
	require.NotSame(t, a.(*HTTP).Client, b.(*HTTP).Client)
}

func ExampleNewRegistry() {
	r := NewRegistry()
	exec, _ := r.Lookup("exec")
	err := exec.Check(map[string]any{
		"command": "./transform.sh", // a list is needed
		"timeout": "10",             // a unit is needed
		"env":     map[string]any{"DATE": "${params.date}"},
	})
	fmt.Println(err)
	// Output:
	// with.command "./transform.sh": want a list: the program and its arguments, e.g. ["sh", "-c", "echo hi"]
	// with.timeout "10": write it as "30s" or "10m" (units: ms, s, m, h)
}
