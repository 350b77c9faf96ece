package devstack_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/wiring/devstack"
)

func TestSecretsAreMadeOnceAndKept(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "standins")
	s, created, err := devstack.LoadSecrets(dir)
	require.NoError(t, err)
	require.True(t, created)
	require.Len(t, s.Token, 32)
	require.Len(t, s.SecretKey, 64, "32 bytes as hex: the sealing key")
	require.Len(t, s.WebhookSecret, 64)
	info, err := os.Stat(filepath.Join(dir, devstack.SecretsFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the user's alone")

	again, created, err := devstack.LoadSecrets(dir)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, s, again, "a restart keeps them")

	// Racing starters agree on one set.
	race := filepath.Join(t.TempDir(), "race")
	var wg sync.WaitGroup
	got := make([]devstack.Secrets, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, err := devstack.LoadSecrets(race)
			assert.NoError(t, err)
			got[i] = s
		}()
	}
	wg.Wait()
	for _, s := range got[1:] {
		require.Equal(t, got[0], s)
	}
	entries, err := os.ReadDir(race)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")

	require.NoError(t, os.WriteFile(filepath.Join(dir, devstack.SecretsFile), []byte("{}"), 0o600))
	_, _, err = devstack.LoadSecrets(dir)
	require.ErrorContains(t, err, "not a dev secrets file")
}
