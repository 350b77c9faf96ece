package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api/auth"
	"github.com/scaleout/scaleout/internal/worker/netguard"
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
	require.Empty(t, c.ScratchDir, "the scratch package's default")
	_, err = c.Authenticator()
	require.NoError(t, err)
	c, err = FromEnv(env(map[string]string{"SCALEOUT_SCRATCH_DIR": "/var/tmp/runs"}))
	require.NoError(t, err)
	require.Equal(t, "/var/tmp/runs", c.ScratchDir)
}

func TestFromEnvReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := FromEnv(env(map[string]string{
		"SCALEOUT_PREFIX":             "bad prefix",
		"SCALEOUT_WORKER_CONCURRENCY": "zero",
		"SCALEOUT_LEASE":              "soon",
		"SCALEOUT_TOKENS":             "ci:root:abc",
		"SCALEOUT_POLL_WAIT":          "1m",
		"SCALEOUT_SCRATCH_DIR":        "runs",
	}))
	require.Error(t, err)
	for _, want := range []string{
		`resource prefix "bad prefix"`, "SCALEOUT_WORKER_CONCURRENCY", "SCALEOUT_LEASE", `role "root"`, "SCALEOUT_POLL_WAIT",
		`SCALEOUT_SCRATCH_DIR="runs": give an absolute path`,
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
	c, err = FromEnv(env(map[string]string{"SCALEOUT_AUTH": "iam", "SCALEOUT_IAM_ROLES": "arn:aws:iam::1:role/service-role/ops=admin"}))
	require.NoError(t, err)
	require.Equal(t, auth.Admin, c.IAMRoles["arn:aws:iam::1:role/service-role/ops"])
	_, err = FromEnv(env(map[string]string{"SCALEOUT_AUTH": "iam", "SCALEOUT_IAM_ROLES": "arn:aws:iam::1:role/teams/*=admin"}))
	require.ErrorContains(t, err, "a role path cannot be matched with '*'")
	c, err = FromEnv(env(map[string]string{"SCALEOUT_AUTH": "iam"}))
	require.NoError(t, err)
	_, err = c.Authenticator()
	require.ErrorContains(t, err, "needs SCALEOUT_IAM_ROLES")
}

func TestFromEnvWorkerRegistryAndCapacity(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	require.NoError(t, err)
	require.Equal(t, 2, c.LostRetries)
	require.Equal(t, 70.0, c.MaxCPU)
	require.Equal(t, 100, c.MinMemoryMB)
	require.Empty(t, c.WorkerTags)

	c, err = FromEnv(env(map[string]string{
		"SCALEOUT_LOST_RETRIES": "5", "SCALEOUT_MAX_CPU": "85%", "SCALEOUT_MIN_MEMORY_MB": "0",
		"SCALEOUT_WORKER_TAGS": "zone=eu-west-1a, gpu",
	}))
	require.NoError(t, err)
	require.Equal(t, 5, c.LostRetries)
	require.Equal(t, 85.0, c.MaxCPU)
	require.Equal(t, 0, c.MinMemoryMB)
	require.Equal(t, map[string]string{"zone": "eu-west-1a", "gpu": ""}, c.WorkerTags)

	_, err = FromEnv(env(map[string]string{
		"SCALEOUT_LOST_RETRIES": "11", "SCALEOUT_MAX_CPU": "170", "SCALEOUT_MIN_MEMORY_MB": "-1",
		"SCALEOUT_WORKER_TAGS": "=x",
	}))
	for _, want := range []string{"SCALEOUT_LOST_RETRIES", "SCALEOUT_MAX_CPU", "SCALEOUT_MIN_MEMORY_MB", "SCALEOUT_WORKER_TAGS"} {
		require.ErrorContains(t, err, want)
	}
	_, err = FromEnv(env(map[string]string{"SCALEOUT_HEARTBEAT": "5s"}))
	require.ErrorContains(t, err, "SCALEOUT_HEARTBEAT is no longer read")
}

func TestFromEnvRetriesDrainAndReconciler(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, c.Grace)
	require.Equal(t, 5*time.Second, c.RetryBackoff)
	require.Equal(t, 5*time.Minute, c.RetryBackoffMax)
	require.Equal(t, 30*time.Second, c.ReconcileInterval)
	require.Equal(t, 2*time.Minute, c.PendingAfter)
	require.Equal(t, c.Lease, c.LostAfter, "default: the lease")

	c, err = FromEnv(env(map[string]string{
		"SCALEOUT_GRACE": "5s", "SCALEOUT_RETRY_BACKOFF": "1s", "SCALEOUT_RETRY_BACKOFF_MAX": "10s",
		"SCALEOUT_RECONCILE_INTERVAL": "1m", "SCALEOUT_PENDING_AFTER": "30s", "SCALEOUT_LOST_AFTER": "2m",
	}))
	require.NoError(t, err)
	require.Equal(t, 5*time.Second, c.Grace)
	require.Equal(t, time.Second, c.RetryBackoff)
	require.Equal(t, 10*time.Second, c.RetryBackoffMax)
	require.Equal(t, time.Minute, c.ReconcileInterval)
	require.Equal(t, 30*time.Second, c.PendingAfter)
	require.Equal(t, 2*time.Minute, c.LostAfter)

	_, err = FromEnv(env(map[string]string{
		"SCALEOUT_GRACE": "-1s", "SCALEOUT_PENDING_AFTER": "soon", "SCALEOUT_RETRY_BACKOFF": "1m",
		"SCALEOUT_RETRY_BACKOFF_MAX": "10s",
	}))
	for _, want := range []string{"SCALEOUT_GRACE", "SCALEOUT_PENDING_AFTER", "SCALEOUT_RETRY_BACKOFF_MAX=10s: must not be less"} {
		require.ErrorContains(t, err, want)
	}
}

func TestFromEnvJWT(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(map[string]string{
		"SCALEOUT_AUTH":      "jwt",
		"SCALEOUT_JWT_ROLES": "data-platform=admin, etl-operators=executor",
	}))
	require.NoError(t, err)
	require.Equal(t, "cognito:groups", c.JWTRoleClaim)
	require.Equal(t, auth.Executor, c.JWTRoles["etl-operators"])
	a, err := c.Authenticator()
	require.NoError(t, err)
	require.Equal(t, auth.JWTClaims{RoleClaim: "cognito:groups", Roles: c.JWTRoles}, a)

	c, err = FromEnv(env(map[string]string{"SCALEOUT_AUTH": "jwt", "SCALEOUT_JWT_ROLE_CLAIM": "scope"}))
	require.NoError(t, err)
	require.Equal(t, "scope", c.JWTRoleClaim)

	_, err = FromEnv(env(map[string]string{"SCALEOUT_AUTH": "jwt", "SCALEOUT_JWT_ROLES": "ops=boss"}))
	require.ErrorContains(t, err, "SCALEOUT_JWT_ROLES entry \"ops=boss\"")
	_, err = FromEnv(env(map[string]string{"SCALEOUT_AUTH": "oauth"}))
	require.ErrorContains(t, err, "use token, iam or jwt")
}

func TestFromEnvWebhookSecretARN(t *testing.T) {
	t.Parallel()
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:scaleout-webhook-AbCdEf"
	c, err := FromEnv(env(map[string]string{"SCALEOUT_WEBHOOK_SECRET_ARN": arn}))
	require.NoError(t, err)
	require.Equal(t, arn, c.WebhookSecretARN)
	_, err = FromEnv(env(map[string]string{"SCALEOUT_WEBHOOK_SECRET_ARN": arn, "SCALEOUT_WEBHOOK_SECRET": "0123456789abcdef0123"}))
	require.ErrorContains(t, err, "both set")
	_, err = FromEnv(env(map[string]string{"SCALEOUT_WEBHOOK_SECRET_ARN": "scaleout-webhook"}))
	require.ErrorContains(t, err, "give the secret's ARN")
}

// Workers isolate packages by default: http tasks under the private
// network policy (no metadata addresses); a task user when one is given.
func TestFromEnvTaskIsolation(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	require.NoError(t, err)
	require.Equal(t, netguard.Private, c.TaskNetwork)
	require.Empty(t, c.TaskUser)

	c, err = FromEnv(env(map[string]string{"SCALEOUT_TASK_NETWORK": "public", "SCALEOUT_TASK_USER": " scaleout-task "}))
	require.NoError(t, err)
	require.Equal(t, netguard.Public, c.TaskNetwork)
	require.Equal(t, "scaleout-task", c.TaskUser)

	_, err = FromEnv(env(map[string]string{"SCALEOUT_TASK_NETWORK": "any"}))
	require.ErrorContains(t, err, `SCALEOUT_TASK_NETWORK="any": use "private"`)
}

func TestFromEnvMessageFlush(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	require.NoError(t, err)
	require.Equal(t, time.Second, c.MessageFlush)
	c, err = FromEnv(env(map[string]string{"SCALEOUT_MESSAGE_FLUSH": "250ms"}))
	require.NoError(t, err)
	require.Equal(t, 250*time.Millisecond, c.MessageFlush)
	for _, bad := range []string{"10ms", "2m", "soon"} {
		_, err = FromEnv(env(map[string]string{"SCALEOUT_MESSAGE_FLUSH": bad}))
		require.ErrorContains(t, err, "SCALEOUT_MESSAGE_FLUSH="+`"`+bad+`": give a duration from 100ms to 1m`)
	}
}
