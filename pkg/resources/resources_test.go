package resources

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	t.Parallel()
	s, err := New("acme", "default", "etl")
	require.NoError(t, err)
	require.Equal(t, "acme-executions", s.Executions.Name)
	require.True(t, s.Executions.Stream)
	require.False(t, s.Catalog.Stream)
	require.Equal(t, "acme-pool-etl", s.Pools["etl"].Name)
	require.Equal(t, "acme-pool-etl-dlq", s.Pools["etl"].DeadLetter.Name)
	require.Len(t, s.Tables(), 2)
}

func TestNewRejectsBadNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ prefix, pool, want string }{
		{"", "default", `resource prefix ""`},
		{"has space", "default", `resource prefix "has space"`},
		{"ok", "bad/pool", `pool "bad/pool"`},
	} {
		_, err := New(tc.prefix, tc.pool)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestNewDefaultPool(t *testing.T) {
	t.Parallel()
	s, err := New("x")
	require.NoError(t, err)
	require.Contains(t, s.Pools, DefaultPool)
}
