package main

import (
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

// With no token given, a command for a local API uses the one `scaleout
// dev` keeps; never for a remote one, and never over an explicit --token=.
func TestKeptTokenForALocalAPI(t *testing.T) {
	t.Parallel()
	settings := func(env map[string]string, args ...string) (string, error) {
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		r := newRemote(cmd)
		r.getenv = func(k string) string { return env[k] }
		r.keptToken = func() string { return "kept-token-0123456789" }
		cmd.SetArgs(args)
		require.NoError(t, cmd.Execute())
		_, token, err := r.settings(cmd)
		return token, err
	}
	tok, err := settings(nil)
	require.NoError(t, err)
	require.Equal(t, "kept-token-0123456789", tok, "the default endpoint is local")
	tok, err = settings(nil, "--endpoint", "http://localhost:8080")
	require.NoError(t, err)
	require.Equal(t, "kept-token-0123456789", tok)
	tok, err = settings(map[string]string{"SCALEOUT_TOKEN": "from-env-0123456789"})
	require.NoError(t, err)
	require.Equal(t, "from-env-0123456789", tok, "the environment wins")
	_, err = settings(nil, "--endpoint", "https://abc.execute-api.eu-west-1.amazonaws.com")
	require.ErrorContains(t, err, "no API token", "a remote API never gets the local token")
	_, err = settings(nil, "--token=")
	require.ErrorContains(t, err, "no API token", "an explicit empty --token means none")
}
