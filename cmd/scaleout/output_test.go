package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAgoReadsNaturally(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		before time.Duration
		want   string
	}{
		{-time.Minute, "0s ago"},
		{400 * time.Millisecond, "0s ago"},
		{12 * time.Second, "12s ago"},
		{5*time.Minute + 3*time.Second, "5m ago"},
		{3*time.Hour + 5*time.Minute, "3h05m ago"},
		{23*time.Hour + 59*time.Minute, "23h59m ago"},
		{24*time.Hour + 56*time.Minute, "1d ago"},
		{50 * time.Hour, "2d2h ago"},
		{12*24*time.Hour + 5*time.Hour, "12d ago"},
	} {
		require.Equal(t, tc.want, ago(now.Add(-tc.before), now), tc.before)
	}
	require.Equal(t, "never", ago(time.Time{}, now))
}
