package execution_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/execution"
)

// contextSealer records the encryption contexts it seals and opens with.
type contextSealer struct{ seen []map[string]string }

func (c *contextSealer) Seal(_ context.Context, p []byte, ec map[string]string) (string, error) {
	c.seen = append(c.seen, ec)
	return string(p), nil
}

func (c *contextSealer) Open(_ context.Context, s string, ec map[string]string) ([]byte, error) {
	c.seen = append(c.seen, ec)
	return []byte(s), nil
}

// Sealed parameters use exactly the context the workers' KMS grant is
// conditioned on (infra/stack): SealContextKeys, with purpose SealPurpose.
func TestSealContextIsWhatTheWorkerGrantAllows(t *testing.T) {
	t.Parallel()
	s := &contextSealer{}
	e := execution.Execution{ID: "e1", Parameters: map[string]any{"token": "x"}, Sensitive: []string{"token"}}
	sealed, err := execution.SealParameters(context.Background(), e, s)
	require.NoError(t, err)
	_, err = execution.OpenParameters(context.Background(), sealed, s)
	require.NoError(t, err)
	require.Len(t, s.seen, 2)
	for _, ec := range s.seen {
		require.Equal(t, execution.SealContextKeys, slices.Sorted(maps.Keys(ec)))
		require.Equal(t, execution.SealPurpose, ec["purpose"])
		require.Equal(t, "e1", ec["execution"])
		require.Equal(t, "token", ec["parameter"])
	}
}
