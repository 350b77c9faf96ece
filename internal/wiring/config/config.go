package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/scaleout/scaleout/internal/api/auth"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker/netguard"
	"github.com/scaleout/scaleout/internal/worker/workerid"
)

// DefaultLease is a worker session's lease when SCALEOUT_LEASE is unset.
const DefaultLease = 60 * time.Second

// Config is every setting. Each field names its environment variable.
type Config struct {
	// Prefix names the tables and queues (SCALEOUT_PREFIX, default "scaleout").
	Prefix string
	// Pools are the pools this installation has (SCALEOUT_POOLS, comma
	// separated, default "default").
	Pools []string

	// Auth is "token" or "iam" (SCALEOUT_AUTH, default "token").
	Auth string
	// Tokens maps bearer tokens to principals. SCALEOUT_TOKEN is one admin
	// token; SCALEOUT_TOKENS adds more as "name:role:token,..." entries.
	Tokens map[string]auth.Principal
	// IAMRoles maps caller ARNs (or prefixes ending in '*') to roles for
	// Auth "iam" (SCALEOUT_IAM_ROLES, "arn=role,...").
	IAMRoles map[string]auth.Role
	// JWTRoleClaim and JWTRoles give callers roles for Auth "jwt": the
	// claim holding groups or scopes (SCALEOUT_JWT_ROLE_CLAIM, default
	// cognito:groups) and what its values map to (SCALEOUT_JWT_ROLES,
	// "value=role,..."; a value named admin, executor or reader is that
	// role without a mapping).
	JWTRoleClaim string
	JWTRoles     map[string]auth.Role

	// WorkerID names the worker (SCALEOUT_WORKER_ID). Unset, the worker is
	// named after its ECS task or, with WorkerIDFrom "ec2", its EC2
	// instance, else host-pid (package workerid).
	WorkerID string
	// WorkerIDFrom is SCALEOUT_WORKER_ID_FROM: "" (the ECS task on ECS,
	// else host-pid), "ec2" (the instance id, IMDSv2) or "host".
	WorkerIDFrom string
	// ECSMetadataURI is ECS_CONTAINER_METADATA_URI_V4, which ECS sets in
	// every container; IMDSEndpoint is AWS_EC2_METADATA_SERVICE_ENDPOINT
	// (the SDK's setting; default http://169.254.169.254).
	ECSMetadataURI, IMDSEndpoint string
	// WorkerPool is the pool a worker serves (SCALEOUT_WORKER_POOL, default "default").
	WorkerPool string
	// WorkerConcurrency is how many executions a worker runs at once
	// (SCALEOUT_WORKER_CONCURRENCY, default the CPU count).
	WorkerConcurrency int
	// Lease is how long a worker session's lease holds without a renewal
	// (SCALEOUT_LEASE, default 60s, 3s to 12h): a worker renews it every
	// Lease/2, and a dead worker's executions are taken over when it runs
	// out.
	Lease time.Duration
	// LostRetries is how many more attempts an execution gets when an
	// attempt is lost (its worker died), unless its request says
	// (SCALEOUT_LOST_RETRIES, default 2, 0-10).
	LostRetries int
	// PollWait is a worker's SQS long-poll wait (SCALEOUT_POLL_WAIT, default
	// 20s, at most 20s). A stopping worker waits for the poll in flight.
	PollWait time.Duration

	// WorkerTags are a worker's tags on its first registration
	// (SCALEOUT_WORKER_TAGS, "key=value,key,..."; after that an
	// administrator edits them).
	WorkerTags map[string]string
	// SecretKey seals sensitive environment values locally: 32 bytes as
	// hex or base64 (SCALEOUT_SECRET_KEY). KMSKeyID (SCALEOUT_KMS_KEY_ID)
	// seals them with KMS instead, on AWS. The API needs one of them.
	SecretKey string
	KMSKeyID  string
	// WebhookSecret signs the webhooks sent to executions' callback URLs
	// (SCALEOUT_WEBHOOK_SECRET, at least 16 characters). The webhook
	// sender needs it to send webhooks; without it none are sent.
	WebhookSecret string
	// WebhookSecretARN names a Secrets Manager secret holding it instead
	// (SCALEOUT_WEBHOOK_SECRET_ARN; what the stack sets on the webhook
	// sender function, which reads it when it starts).
	WebhookSecretARN string
	// WebhookQueueURL is the webhook queue's URL
	// (SCALEOUT_WEBHOOK_QUEUE_URL; the stack sets it on the stream
	// function, which then only sends there). Empty, the stream function
	// looks the queue up by its name (Resources().Webhooks).
	WebhookQueueURL string
	// WebhookAllowPrivate lets webhooks reach loopback and private
	// addresses (SCALEOUT_WEBHOOK_ALLOW_PRIVATE, default false; `scaleout
	// dev` sets it for receivers on the same computer).
	WebhookAllowPrivate bool
	// EventBus is the EventBridge event bus (name or ARN) the stream
	// function puts an "Execution Ended" event on for every final status
	// (SCALEOUT_EVENT_BUS; empty: no events). The SDK finds EventBridge as
	// usual (AWS_ENDPOINT_URL_EVENTBRIDGE for LocalStack).
	EventBus string
	// MaxCPU is the CPU use in percent above which a worker takes no new
	// work (SCALEOUT_MAX_CPU, default 70, 1-100; 100 turns the check off).
	MaxCPU float64
	// MinMemoryMB is the free memory in MiB below which a worker takes no
	// new work (SCALEOUT_MIN_MEMORY_MB, default 100; 0 turns the check off).
	MinMemoryMB int

	// TaskNetwork is where a worker's http tasks may connect
	// (SCALEOUT_TASK_NETWORK): "private", the default, refuses link-local
	// and metadata addresses (the instance metadata service, the ECS
	// credentials endpoint); "public" refuses loopback and private
	// addresses too.
	TaskNetwork netguard.Policy
	// TaskUser is the user a worker runs exec tasks as
	// (SCALEOUT_TASK_USER: a user name or uid:gid; empty: the worker's own
	// user). The worker needs root, or CAP_SETUID, CAP_SETGID and CAP_KILL.
	TaskUser string
	// ScratchDir is where a worker makes each execution attempt's scratch
	// directory, removed when the attempt ends (SCALEOUT_SCRATCH_DIR, an
	// absolute path; empty: os.TempDir()/scaleout-runs).
	ScratchDir string

	// MessageFlush is the longest an execution's message waits in its
	// worker before it is written (SCALEOUT_MESSAGE_FLUSH, default 1s,
	// 100ms to 1m): what a package printed survives a killed worker once
	// this long has passed. Messages are written one item per flush, not
	// one per line, so a shorter interval costs more writes for a package
	// that prints steadily.
	MessageFlush time.Duration

	// Grace is how long a stopping worker lets running executions finish
	// before it releases them to other workers (SCALEOUT_GRACE, default 30s).
	Grace time.Duration
	// RetryBackoff and RetryBackoffMax space an execution's retries after
	// its package failed: RetryBackoff·2^(n-1) before retry n, at most
	// RetryBackoffMax (SCALEOUT_RETRY_BACKOFF, default 5s;
	// SCALEOUT_RETRY_BACKOFF_MAX, default 5m).
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
	// ReconcileInterval is how often `scaleout dev` runs a reconcile pass
	// (SCALEOUT_RECONCILE_INTERVAL, default 30s; on AWS the EventBridge
	// schedule sets it).
	ReconcileInterval time.Duration
	// PendingAfter is how long an execution may stay pending before the
	// reconciler sends its message again (SCALEOUT_PENDING_AFTER, default 2m).
	PendingAfter time.Duration
	// LostAfter is how long after its lease expired an attempt no worker
	// took over is recovered by the reconciler (SCALEOUT_LOST_AFTER,
	// default the lease).
	LostAfter time.Duration

	// ECSAgentURI is the ECS agent's endpoint (ECS_AGENT_URI, set by ECS
	// on every task): a worker on Fargate keeps its task out of scale-in
	// through it while it runs executions (package scalein).
	ECSAgentURI string
	// AutoScalingGroup is the Auto Scaling group of an EC2 worker's
	// instance (SCALEOUT_AUTOSCALING_GROUP, set by the stack on EC2 pools):
	// the worker protects its instance from the group's scale-in while it
	// runs executions.
	AutoScalingGroup string
}

// ScratchDir reads SCALEOUT_SCRATCH_DIR, the root of the runs' scratch
// directories (for the worker, and for `scaleout package run`): an
// absolute path, or empty for the default.
func ScratchDir(getenv func(string) string) (string, error) {
	d := strings.TrimSpace(getenv("SCALEOUT_SCRATCH_DIR"))
	if d != "" && !filepath.IsAbs(d) {
		return "", fmt.Errorf("SCALEOUT_SCRATCH_DIR=%q: give an absolute path, such as /var/tmp/scaleout-runs", d)
	}
	return d, nil
}

// FromEnv reads the configuration through getenv (os.Getenv in mains) and
// validates it.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Prefix:            or(getenv("SCALEOUT_PREFIX"), resources.DefaultPrefix),
		Pools:             split(or(getenv("SCALEOUT_POOLS"), resources.DefaultPool)),
		Auth:              or(getenv("SCALEOUT_AUTH"), "token"),
		Tokens:            map[string]auth.Principal{},
		IAMRoles:          map[string]auth.Role{},
		JWTRoleClaim:      or(strings.TrimSpace(getenv("SCALEOUT_JWT_ROLE_CLAIM")), auth.DefaultRoleClaim),
		JWTRoles:          map[string]auth.Role{},
		WorkerID:          getenv("SCALEOUT_WORKER_ID"),
		WorkerIDFrom:      strings.TrimSpace(getenv("SCALEOUT_WORKER_ID_FROM")),
		ECSMetadataURI:    strings.TrimSpace(getenv("ECS_CONTAINER_METADATA_URI_V4")),
		IMDSEndpoint:      strings.TrimSpace(getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")),
		WorkerPool:        or(getenv("SCALEOUT_WORKER_POOL"), resources.DefaultPool),
		WorkerConcurrency: runtime.NumCPU(),
		Lease:             DefaultLease,
		PollWait:          20 * time.Second,
		WorkerTags:        map[string]string{},
		SecretKey:         getenv("SCALEOUT_SECRET_KEY"),
		KMSKeyID:          getenv("SCALEOUT_KMS_KEY_ID"),
		WebhookSecret:     getenv("SCALEOUT_WEBHOOK_SECRET"),
		TaskUser:          strings.TrimSpace(getenv("SCALEOUT_TASK_USER")),
		WebhookSecretARN:  strings.TrimSpace(getenv("SCALEOUT_WEBHOOK_SECRET_ARN")),
		WebhookQueueURL:   strings.TrimSpace(getenv("SCALEOUT_WEBHOOK_QUEUE_URL")),
		EventBus:          strings.TrimSpace(getenv("SCALEOUT_EVENT_BUS")),
		LostRetries:       execution.DefaultLostRetries,
		MaxCPU:            70,
		MinMemoryMB:       100,
		Grace:             30 * time.Second,
		MessageFlush:      time.Second,
		RetryBackoff:      5 * time.Second,
		RetryBackoffMax:   5 * time.Minute,
		ReconcileInterval: 30 * time.Second,
		PendingAfter:      2 * time.Minute,
		ECSAgentURI:       strings.TrimSpace(getenv("ECS_AGENT_URI")),
		AutoScalingGroup:  strings.TrimSpace(getenv("SCALEOUT_AUTOSCALING_GROUP")),
	}
	var errs []error
	if v := getenv("SCALEOUT_WORKER_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("SCALEOUT_WORKER_CONCURRENCY=%q: give a whole number of at least 1", v))
		}
		c.WorkerConcurrency = n
	}
	if v := getenv("SCALEOUT_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("SCALEOUT_LEASE=%q: give a duration such as 60s", v))
		}
		c.Lease = d
	}
	if v := getenv("SCALEOUT_POLL_WAIT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 20*time.Second {
			errs = append(errs, fmt.Errorf("SCALEOUT_POLL_WAIT=%q: give a duration from 1s to 20s", v))
		}
		c.PollWait = d
	}
	if v := getenv("SCALEOUT_MESSAGE_FLUSH"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > time.Minute {
			errs = append(errs, fmt.Errorf("SCALEOUT_MESSAGE_FLUSH=%q: give a duration from 100ms to 1m, such as 1s", v))
		}
		c.MessageFlush = d
	}
	var err error
	if c.ScratchDir, err = ScratchDir(getenv); err != nil {
		errs = append(errs, err)
	}
	for _, entry := range split(getenv("SCALEOUT_WORKER_TAGS")) {
		k, v, _ := strings.Cut(entry, "=")
		if k = strings.TrimSpace(k); k == "" {
			errs = append(errs, fmt.Errorf("SCALEOUT_WORKER_TAGS entry %q: write key=value or key", entry))
			continue
		}
		c.WorkerTags[k] = strings.TrimSpace(v)
	}
	for _, gone := range []string{"SCALEOUT_HEARTBEAT", "SCALEOUT_OFFLINE_AFTER"} {
		if getenv(gone) != "" {
			errs = append(errs, fmt.Errorf("%s is no longer read: a worker renews its session every SCALEOUT_LEASE/3, "+
				"and shows online while that lease runs; unset it", gone))
		}
	}
	if v := getenv("SCALEOUT_LOST_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > execution.MaxRetries {
			errs = append(errs, fmt.Errorf("SCALEOUT_LOST_RETRIES=%q: give a whole number from 0 to %d", v, execution.MaxRetries))
		}
		c.LostRetries = n
	}
	if v := getenv("SCALEOUT_MAX_CPU"); v != "" {
		f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if err != nil || f < 1 || f > 100 {
			errs = append(errs, fmt.Errorf("SCALEOUT_MAX_CPU=%q: give a percentage from 1 to 100", v))
		}
		c.MaxCPU = f
	}
	if v := getenv("SCALEOUT_WEBHOOK_ALLOW_PRIVATE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("SCALEOUT_WEBHOOK_ALLOW_PRIVATE=%q: give true or false", v))
		}
		c.WebhookAllowPrivate = b
	}
	if p, err := netguard.Parse(getenv("SCALEOUT_TASK_NETWORK")); err != nil {
		errs = append(errs, fmt.Errorf("SCALEOUT_TASK_NETWORK=%w", err))
	} else {
		c.TaskNetwork = p
	}
	if v := getenv("SCALEOUT_MIN_MEMORY_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("SCALEOUT_MIN_MEMORY_MB=%q: give a whole number of MiB, 0 or more", v))
		}
		c.MinMemoryMB = n
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{
		{"SCALEOUT_GRACE", &c.Grace},
		{"SCALEOUT_RETRY_BACKOFF", &c.RetryBackoff},
		{"SCALEOUT_RETRY_BACKOFF_MAX", &c.RetryBackoffMax},
		{"SCALEOUT_RECONCILE_INTERVAL", &c.ReconcileInterval},
		{"SCALEOUT_PENDING_AFTER", &c.PendingAfter},
		{"SCALEOUT_LOST_AFTER", &c.LostAfter},
	} {
		if v := getenv(d.name); v != "" {
			got, err := time.ParseDuration(v)
			if err != nil || got <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: give a positive duration such as 30s", d.name, v))
				continue
			}
			*d.to = got
		}
	}
	if c.LostAfter == 0 {
		c.LostAfter = c.Lease
	}
	if t := getenv("SCALEOUT_TOKEN"); t != "" {
		c.Tokens[t] = auth.Principal{Name: "admin", Role: auth.Admin}
	}
	for _, entry := range split(getenv("SCALEOUT_TOKENS")) {
		parts := strings.SplitN(entry, ":", 3)
		if len(parts) != 3 {
			errs = append(errs, errors.New("SCALEOUT_TOKENS: each entry is name:role:token"))
			continue
		}
		role, err := auth.ParseRole(parts[1])
		if err != nil {
			errs = append(errs, fmt.Errorf("SCALEOUT_TOKENS entry %q: %w", parts[0], err))
			continue
		}
		c.Tokens[parts[2]] = auth.Principal{Name: parts[0], Role: role}
	}
	for _, entry := range split(getenv("SCALEOUT_IAM_ROLES")) {
		arn, r, ok := strings.Cut(entry, "=")
		role, err := auth.ParseRole(r)
		if !ok || err != nil {
			errs = append(errs, fmt.Errorf("SCALEOUT_IAM_ROLES entry %q: write arn=role with role admin, executor or reader", entry))
			continue
		}
		if err := auth.CheckIAMPattern(strings.TrimSpace(arn)); err != nil {
			errs = append(errs, fmt.Errorf("SCALEOUT_IAM_ROLES entry %q: %w", entry, err))
			continue
		}
		c.IAMRoles[arn] = role
	}
	for _, entry := range split(getenv("SCALEOUT_JWT_ROLES")) {
		value, r, ok := strings.Cut(entry, "=")
		role, err := auth.ParseRole(r)
		if !ok || err != nil || strings.TrimSpace(value) == "" {
			errs = append(errs, fmt.Errorf("SCALEOUT_JWT_ROLES entry %q: write value=role (a group or scope, and admin, executor or reader)", entry))
			continue
		}
		c.JWTRoles[strings.TrimSpace(value)] = role
	}
	if err := errors.Join(append(errs, c.Validate())...); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if _, err := resources.New(c.Prefix, c.Pools...); err != nil {
		errs = append(errs, err)
	}
	if c.Auth != "token" && c.Auth != "iam" && c.Auth != "jwt" {
		errs = append(errs, fmt.Errorf("SCALEOUT_AUTH=%q: use token, iam or jwt", c.Auth))
	}
	if c.Lease < 3*time.Second || c.Lease > 12*time.Hour {
		errs = append(errs, fmt.Errorf("SCALEOUT_LEASE=%s: give 3s to 12h", c.Lease))
	}
	if err := workerid.CheckFrom(c.WorkerIDFrom); err != nil {
		errs = append(errs, err)
	}
	if c.WebhookSecret != "" && c.WebhookSecretARN != "" {
		errs = append(errs, errors.New("SCALEOUT_WEBHOOK_SECRET and SCALEOUT_WEBHOOK_SECRET_ARN are both set: give one"))
	}
	if c.WebhookSecretARN != "" && !strings.HasPrefix(c.WebhookSecretARN, "arn:") {
		errs = append(errs, fmt.Errorf("SCALEOUT_WEBHOOK_SECRET_ARN=%q: give the secret's ARN (arn:aws:secretsmanager:...)", c.WebhookSecretARN))
	}
	if c.WebhookSecret != "" && len(c.WebhookSecret) < 16 {
		errs = append(errs, fmt.Errorf("SCALEOUT_WEBHOOK_SECRET: %d characters, at least 16 (e.g. from `openssl rand -hex 32`)", len(c.WebhookSecret)))
	}
	if c.RetryBackoffMax < c.RetryBackoff {
		errs = append(errs, fmt.Errorf("SCALEOUT_RETRY_BACKOFF_MAX=%s: must not be less than SCALEOUT_RETRY_BACKOFF=%s", c.RetryBackoffMax, c.RetryBackoff))
	}
	return errors.Join(errs...)
}

// Resources is the set of tables and queues c names.
func (c Config) Resources() resources.Set {
	s, _ := resources.New(c.Prefix, c.Pools...) // checked by Validate
	return s
}

// Authenticator builds the configured authenticator; only the API needs
// one, so only the API fails without credentials configured.
func (c Config) Authenticator() (auth.Authenticator, error) {
	switch c.Auth {
	case "iam":
		if len(c.IAMRoles) == 0 {
			return nil, errors.New("SCALEOUT_AUTH=iam needs SCALEOUT_IAM_ROLES (arn=role,...)")
		}
		return auth.Gateway{Roles: c.IAMRoles}, nil
	case "jwt":
		return auth.JWTClaims{RoleClaim: c.JWTRoleClaim, Roles: c.JWTRoles}, nil
	case "token":
		if len(c.Tokens) == 0 {
			return nil, errors.New("SCALEOUT_AUTH=token needs SCALEOUT_TOKEN or SCALEOUT_TOKENS")
		}
		return auth.NewBearerTokens(c.Tokens)
	}
	return nil, fmt.Errorf("SCALEOUT_AUTH=%q: use token, iam or jwt", c.Auth)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
