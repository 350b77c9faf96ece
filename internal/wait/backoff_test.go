package wait_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/wait"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second}, {7, time.Minute}, {40, time.Minute}} {
		require.Equal(t, tc.want, wait.Backoff(5*time.Second, time.Minute, tc.n), "retry %d", tc.n)
	}
	require.Zero(t, wait.Backoff(0, time.Minute, 3))
	require.Equal(t, time.Second, wait.Backoff(2*time.Second, time.Second, 1), "a base above the cap is capped")
	require.Equal(t, 8*time.Second, wait.Backoff(time.Second, 0, 4), "no cap")
}
