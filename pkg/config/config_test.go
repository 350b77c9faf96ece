package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/auth"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvDefaults(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(map[string]string{"SCALEOUT_TOKEN": "0123456789abcdef"}))
	require.NoError(t, err)
	require.Equal(t, "scaleout", c.Prefix)
	require.Equal(t, []string{"default"}, c.Pools)
	require.Equal(t, 60*time.Second, c.Lease)
	require.Equal(t, auth.Admin, c.Tokens["0123456789abcdef"].Role)
	_, err = c.Authenticator()
	require.NoError(t, err)
}

func TestFromEnvReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := FromEnv(env(map[string]string{
		"SCALEOUT_PREFIX":             "bad prefix",
		"SCALEOUT_WORKER_CONCURRENCY": "zero",
		"SCALEOUT_LEASE":              "soon",
		"SCALEOUT_TOKENS":             "ci:root:abc",
		"SCALEOUT_POLL_WAIT":          "1m",
	}))
	require.Error(t, err)
	for _, want := range []string{
		`resource prefix "bad prefix"`, "SCALEOUT_WORKER_CONCURRENCY", "SCALEOUT_LEASE", `role "root"`, "SCALEOUT_POLL_WAIT",
	} {
		require.ErrorContains(t, err, want)
	}
	c, err := FromEnv(env(nil))
	require.NoError(t, err, "a worker needs no API credentials")
	_, err = c.Authenticator()
	require.ErrorContains(t, err, "needs SCALEOUT_TOKEN")
}

func TestFromEnvIAM(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(map[string]string{
		"SCALEOUT_AUTH":      "iam",
		"SCALEOUT_IAM_ROLES": "arn:aws:iam::1:user/a=admin, arn:aws:sts::1:assumed-role/s/*=executor",
	}))
	require.NoError(t, err)
	require.Equal(t, auth.Executor, c.IAMRoles["arn:aws:sts::1:assumed-role/s/*"])
	_, err = FromEnv(env(map[string]string{"SCALEOUT_AUTH": "iam", "SCALEOUT_IAM_ROLES": "nope"}))
	require.ErrorContains(t, err, "arn=role")
	c, err = FromEnv(env(map[string]string{"SCALEOUT_AUTH": "iam"}))
	require.NoError(t, err)
	_, err = c.Authenticator()
	require.ErrorContains(t, err, "needs SCALEOUT_IAM_ROLES")
}
