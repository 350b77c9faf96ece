package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/notify"
	"github.com/scaleout/scaleout/pkg/testenv"
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// secretsManager serves GetSecretValue (the AWS JSON 1.1 protocol the SDK
// speaks) for one secret whose value a test rotates.
type secretsManager struct {
	mu    sync.Mutex
	value string
	fail  bool
	calls int
	srv   *httptest.Server
}

func newSecretsManager(t *testing.T, value string) *secretsManager {
	sm := &secretsManager{value: value}
	sm.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.mu.Lock()
		defer sm.mu.Unlock()
		sm.calls++
		var in struct{ SecretId string }
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || json.NewDecoder(r.Body).Decode(&in) != nil {
			http.Error(w, `{"__type":"InvalidRequestException"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if sm.fail {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"AccessDeniedException","message":"denied"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": in.SecretId, "Name": "scaleout-dev-webhook", "SecretString": sm.value,
			"VersionId": "v-" + sm.value[:4], "VersionStages": []string{"AWSCURRENT"},
		})
	}))
	t.Cleanup(sm.srv.Close)
	return sm
}

func (sm *secretsManager) rotate(value string) { sm.mu.Lock(); defer sm.mu.Unlock(); sm.value = value }
func (sm *secretsManager) setFail(f bool)      { sm.mu.Lock(); defer sm.mu.Unlock(); sm.fail = f }
func (sm *secretsManager) count() int          { sm.mu.Lock(); defer sm.mu.Unlock(); return sm.calls }

// client is the real SDK client pointed at the stand-in.
func (sm *secretsManager) client() *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(sm.srv.URL), Credentials: staticCreds{},
		RetryMaxAttempts: 1,
	})
}

const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:scaleout-dev-webhook-AbCdEf"

// A rotated webhook secret signs the webhooks sent once the cached one is
// older than the TTL, without a restart of the sender.
func TestRotatedSecretIsPickedUp(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	oldSecret, newSecret := "old-secret-0123456789abcdef", "new-secret-fedcba9876543210"
	sm := newSecretsManager(t, oldSecret)
	clk := &clock{t: time.Now()}
	src := &notify.CachedSecret{Fetch: notify.SecretsManagerSecret(sm.client(), secretARN), Now: clk.now}
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
	sm.rotate(newSecret)
	clk.add(notify.DefaultSecretTTL - time.Second)
	require.NoError(t, verify(oldSecret, send()), "within the TTL the cached secret signs")
	require.Equal(t, 1, sm.count(), "one read per TTL, not one per webhook")

	clk.add(time.Second)
	got := send()
	require.NoError(t, verify(newSecret, got), "the rotated secret signs once the TTL ran out")
	require.Error(t, verify(oldSecret, got))
	require.Equal(t, 2, sm.count())
}

func TestCachedSecret(t *testing.T) {
	t.Parallel()
	sm := newSecretsManager(t, "first-secret-0123456789")
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	src := &notify.CachedSecret{Fetch: notify.SecretsManagerSecret(sm.client(), secretARN), Now: clk.now, TTL: time.Minute}
	ctx := context.Background()

	// Nothing read yet: a failure is an error.
	sm.setFail(true)
	_, err := src.Secret(ctx)
	require.ErrorContains(t, err, "AccessDeniedException")
	require.ErrorContains(t, err, secretARN)
	sm.setFail(false)
	v, err := src.Secret(ctx)
	require.NoError(t, err)
	require.Equal(t, "first-secret-0123456789", string(v))

	// A failed read after the TTL keeps the secret read before, and is
	// tried again after RetryAfter (30 s), not on every webhook.
	sm.rotate("second-secret-0123456789")
	sm.setFail(true)
	clk.add(time.Minute)
	calls := sm.count()
	for range 3 {
		v, err = src.Secret(ctx)
		require.NoError(t, err)
		require.Equal(t, "first-secret-0123456789", string(v))
	}
	require.Equal(t, calls+1, sm.count())
	sm.setFail(false)
	clk.add(30 * time.Second)
	v, err = src.Secret(ctx)
	require.NoError(t, err)
	require.Equal(t, "second-secret-0123456789", string(v))

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
