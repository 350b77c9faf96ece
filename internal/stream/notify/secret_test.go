package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/notify"
	"github.com/scaleout/scaleout/internal/testkit/testclock"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/localstack/secretstore"
)

// secretsManager is the real SDK client pointed at the Secrets Manager
// stand-in.
func secretsManager(store *secretstore.Server) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(store.URL), Credentials: staticCreds{},
		RetryMaxAttempts: 1,
	})
}

// A rotated webhook secret signs the webhooks sent once the cached one is
// older than the TTL, without a restart of the sender.
func TestRotatedSecretIsPickedUp(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	oldSecret, newSecret := "old-secret-0123456789abcdef", "new-secret-fedcba9876543210"
	store := secretstore.Start()
	t.Cleanup(store.Close)
	arn := store.Put("scaleout-dev-webhook", oldSecret)
	clk := testclock.New()
	src := &notify.CachedSecret{Fetch: notify.SecretsManagerSecret(secretsManager(store), arn), Now: clk.Now}
	n, err := notify.New(notify.Config{
		SecretSource: src,
		Deliveries:   notify.NewDynamoStore(env.Clients.DynamoDB, env.Set.Catalog.Name),
		AllowPrivate: true,
		Backoff:      10 * time.Millisecond,
	})
	require.NoError(t, err)
	r := newReceiver(t, 0)
	send := func() received {
		t.Helper()
		ev := notify.Event{ExecutionID: testenv.Name("exec"), Package: "k", Status: execution.Succeeded,
			EndedAt: time.Now(), CallbackURL: r.srv.URL + "/hook"}
		require.NoError(t, n.Notify(context.Background(), ev))
		got := r.all()
		return got[len(got)-1]
	}
	verify := func(secret string, got received) error {
		return notify.Verify([]byte(secret), got.header.Get(notify.HeaderTimestamp), got.body, got.header.Get(notify.HeaderSignature), time.Hour)
	}

	require.NoError(t, verify(oldSecret, send()))
	store.Rotate(arn, newSecret)
	clk.Add(notify.DefaultSecretTTL - time.Second)
	require.NoError(t, verify(oldSecret, send()), "within the TTL the cached secret signs")
	require.EqualValues(t, 1, store.Reads(), "one read per TTL, not one per webhook")

	clk.Add(time.Second)
	got := send()
	require.NoError(t, verify(newSecret, got), "the rotated secret signs once the TTL ran out")
	require.Error(t, verify(oldSecret, got))
	require.EqualValues(t, 2, store.Reads())
}

func TestCachedSecret(t *testing.T) {
	t.Parallel()
	store := secretstore.Start()
	t.Cleanup(store.Close)
	clk := testclock.New()
	missing := "arn:aws:secretsmanager:us-east-1:000000000000:secret:missing-AbCdEf"
	ctx := context.Background()

	// Nothing read yet: a failure is an error.
	_, err := (&notify.CachedSecret{Fetch: notify.SecretsManagerSecret(secretsManager(store), missing)}).Secret(ctx)
	require.ErrorContains(t, err, "ResourceNotFoundException")
	require.ErrorContains(t, err, missing)

	arn := store.Put("scaleout-dev-webhook", "first-secret-0123456789")
	read, fetches := notify.SecretsManagerSecret(secretsManager(store), arn), 0
	src := &notify.CachedSecret{Fetch: func(ctx context.Context) ([]byte, error) {
		fetches++
		return read(ctx)
	}, Now: clk.Now, TTL: time.Minute}
	v, err := src.Secret(ctx)
	require.NoError(t, err)
	require.Equal(t, "first-secret-0123456789", string(v))

	// A failed read after the TTL keeps the secret read before, and is
	// tried again after RetryAfter (30 s), not on every webhook.
	store.Delete(arn)
	clk.Add(time.Minute)
	for range 3 {
		v, err = src.Secret(ctx)
		require.NoError(t, err)
		require.Equal(t, "first-secret-0123456789", string(v))
	}
	require.Equal(t, 2, fetches, "one failed read, then none until RetryAfter")
	read = notify.SecretsManagerSecret(secretsManager(store), store.Put("scaleout-dev-webhook", "second-secret-0123456789"))
	clk.Add(29 * time.Second)
	v, err = src.Secret(ctx)
	require.NoError(t, err)
	require.Equal(t, "first-secret-0123456789", string(v))
	clk.Add(time.Second)
	v, err = src.Secret(ctx)
	require.NoError(t, err)
	require.Equal(t, "second-secret-0123456789", string(v))
	require.Equal(t, 3, fetches)

	// A secret too short to sign with is a failed read.
	short := &notify.CachedSecret{Fetch: func(context.Context) ([]byte, error) { return []byte("short"), nil }}
	_, err = short.Secret(ctx)
	require.ErrorContains(t, err, "at least 16")

	// A notifier whose secret cannot be read sends nothing and says why.
	broken := &notify.CachedSecret{Fetch: func(context.Context) ([]byte, error) { return nil, errors.New("no route to Secrets Manager") }}
	env := testenv.AWS(t)
	n, err := notify.New(notify.Config{SecretSource: broken, Deliveries: notify.NewDynamoStore(env.Clients.DynamoDB, env.Set.Catalog.Name), AllowPrivate: true})
	require.NoError(t, err)
	r := newReceiver(t, 0)
	err = n.Notify(ctx, notify.Event{ExecutionID: testenv.Name("exec"), Status: execution.Succeeded, EndedAt: time.Now(), CallbackURL: r.srv.URL})
	require.ErrorContains(t, err, "the signing secret: no route to Secrets Manager")
	require.Empty(t, r.all())
}
