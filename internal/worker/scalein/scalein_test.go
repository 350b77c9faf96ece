package scalein_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/worker/scalein"
	"github.com/scaleout/scaleout/internal/worker/scalein/agenttest"
)

func TestECSAgentProtectsAndReleases(t *testing.T) {
	t.Parallel()
	agent := agenttest.New(t)
	p := scalein.ECSAgent{URI: agent.URI}
	ctx := context.Background()

	require.NoError(t, p.Protect(ctx, true, 30*time.Minute))
	on, expires := agent.State()
	require.True(t, on)
	require.WithinDuration(t, time.Now().Add(30*time.Minute), expires, time.Minute)

	require.NoError(t, p.Protect(ctx, false, 0))
	on, _ = agent.State()
	require.False(t, on)

	puts := agent.Puts()
	require.Len(t, puts, 2)
	require.Equal(t, int64(30), *puts[0].ExpiresInMinutes)
	require.Nil(t, puts[1].ExpiresInMinutes, "a release sends no expiry")
}

func TestECSAgentExpiryIsWithinECSLimits(t *testing.T) {
	t.Parallel()
	agent := agenttest.New(t)
	p := scalein.ECSAgent{URI: agent.URI + "/"}
	for _, tc := range []struct {
		ttl  time.Duration
		want int64
	}{{0, 1}, {90 * time.Second, 2}, {72 * time.Hour, 2880}} {
		require.NoError(t, p.Protect(context.Background(), true, tc.ttl))
		puts := agent.Puts()
		require.Equal(t, tc.want, *puts[len(puts)-1].ExpiresInMinutes, tc.ttl)
	}
}

func TestECSAgentReportsRefusals(t *testing.T) {
	t.Parallel()
	agent := agenttest.New(t)
	agent.FailWith("DEPLOYMENT_BLOCKED")
	err := scalein.ECSAgent{URI: agent.URI}.Protect(context.Background(), true, time.Hour)
	require.ErrorContains(t, err, "HTTP 409: DEPLOYMENT_BLOCKED")

	err = scalein.ECSAgent{URI: agent.URI + "/nowhere"}.Protect(context.Background(), true, time.Hour)
	require.ErrorContains(t, err, "HTTP 404")

	err = scalein.ECSAgent{}.Protect(context.Background(), true, time.Hour)
	require.ErrorContains(t, err, "ECS_AGENT_URI")
}
