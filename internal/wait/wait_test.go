package wait_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/wait"
)

func TestFor(t *testing.T) {
	t.Parallel()
	start := time.Now()
	require.NoError(t, wait.For(context.Background(), 20*time.Millisecond))
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	start = time.Now()
	require.ErrorIs(t, wait.For(ctx, time.Minute), context.Canceled)
	require.Less(t, time.Since(start), 10*time.Second, "a canceled wait ends at once")

	require.NoError(t, wait.For(context.Background(), 0))
	require.ErrorIs(t, wait.For(ctx, 0), context.Canceled, "an ended context reports even without a wait")
}
