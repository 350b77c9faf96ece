package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretSource gives the secret that signs webhooks, as it is now. A
// source that re-reads it lets the secret be rotated without restarting
// the sender.
type SecretSource interface {
	Secret(ctx context.Context) ([]byte, error)
}

// DefaultSecretTTL is how long CachedSecret keeps a secret before reading
// it again: a rotation is used within it.
const DefaultSecretTTL = 5 * time.Minute

// CachedSecret reads a secret with Fetch and keeps it for TTL. When a read
// fails, the secret read before is kept (and the read tried again after
// RetryAfter), so a Secrets Manager outage does not stop webhooks; with
// none read yet, the error is returned. A secret shorter than
// MinSecretLength counts as a failed read. Safe for concurrent use.
type CachedSecret struct {
	// Fetch reads the secret (SecretsManagerSecret, or a function).
	Fetch func(ctx context.Context) ([]byte, error)
	// TTL defaults to DefaultSecretTTL; RetryAfter, the wait after a
	// failed read before the next, to 30 s (at most TTL).
	TTL, RetryAfter time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger gets a warning when a read fails (never the secret).
	Logger *slog.Logger

	mu     sync.Mutex
	value  []byte
	nextAt time.Time
}

// Secret implements SecretSource.
func (c *CachedSecret) Secret(ctx context.Context) ([]byte, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := now()
	if c.value != nil && t.Before(c.nextAt) {
		return c.value, nil
	}
	v, err := c.Fetch(ctx)
	if err == nil && len(v) < MinSecretLength {
		err = fmt.Errorf("webhook secret of %d bytes: give at least %d", len(v), MinSecretLength)
	}
	if err != nil {
		if c.value == nil {
			return nil, err
		}
		retry := c.RetryAfter
		if retry <= 0 {
			retry = 30 * time.Second
		}
		c.nextAt = t.Add(min(retry, c.ttl()))
		if c.Logger != nil {
			c.Logger.WarnContext(ctx, "webhook secret not read again; signing with the one read before", "error", err)
		}
		return c.value, nil
	}
	c.value, c.nextAt = v, t.Add(c.ttl())
	return c.value, nil
}

func (c *CachedSecret) ttl() time.Duration {
	if c.TTL <= 0 {
		return DefaultSecretTTL
	}
	return c.TTL
}

// SecretsManagerAPI is the call SecretsManagerSecret makes.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretsManagerSecret reads the current version (AWSCURRENT) of the
// Secrets Manager secret id (its ARN), a string secret.
func SecretsManagerSecret(client SecretsManagerAPI, id string) func(ctx context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("read the webhook signing secret %s: %w", id, err)
		}
		if out.SecretString == nil {
			return nil, fmt.Errorf("read the webhook signing secret %s: it holds no string (SecretString)", id)
		}
		return []byte(aws.ToString(out.SecretString)), nil
	}
}

// staticSecret is a secret that never changes (Config.Secret).
type staticSecret []byte

func (s staticSecret) Secret(context.Context) ([]byte, error) { return s, nil }
