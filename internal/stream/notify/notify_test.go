package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/notify"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"execution_id":"x"}`)
	now := time.Now()
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	good := notify.Sign(secret, ts(0), body)
	for _, tc := range []struct {
		name      string
		ts, sig   string
		body      string
		wantError string
	}{
		{"valid", ts(0), good, string(body), ""},
		{"one of several", ts(0), "v1=00," + good, string(body), ""},
		{"body changed", ts(0), good, `{"execution_id":"y"}`, "does not match"},
		{"wrong secret", ts(0), notify.Sign([]byte("another secret 0123"), ts(0), body), string(body), "does not match"},
		{"too old", ts(-10 * time.Minute), notify.Sign(secret, ts(-10*time.Minute), body), string(body), "allowed age"},
		{"not a number", "yesterday", good, string(body), "unix seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := notify.Verify(secret, tc.ts, []byte(tc.body), tc.sig, 5*time.Minute)
			if tc.wantError == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantError)
		})
	}
}

func TestValidateURL(t *testing.T) {
	t.Parallel()
	for u, ok := range map[string]bool{
		"https://example.com/hook?x=1": true,
		"http://127.0.0.1:9000/":       true,
		"ftp://example.com/":           false,
		"/relative":                    false,
		"https://":                     false,
		"https://example.com/" + strings.Repeat("a", 2048): false,
	} {
		require.Equal(t, ok, notify.ValidateURL(u) == nil, u)
	}
}

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
}

type receiver struct {
	mu   sync.Mutex
	got  []received
	fail int // answer 503 this many times first
	srv  *httptest.Server
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.got = append(r.got, received{req.Header.Clone(), b})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func setup(t *testing.T) *notify.Notifier {
	t.Helper()
	env := testenv.AWS(t)
	n, err := notify.New(notify.Config{
		Secret:     secret,
		Deliveries: notify.NewDynamoStore(env.Clients.DynamoDB, env.Set.Catalog.Name),
		Backoff:    10 * time.Millisecond,
		// The receivers are on loopback.
		AllowPrivate: true,
	})
	require.NoError(t, err)
	return n
}

func TestNotifyOnceThenSkips(t *testing.T) {
	t.Parallel()
	n := setup(t)
	r := newReceiver(t, 2) // two 503s, then accepted
	ev := notify.Event{ExecutionID: testenv.Name("exec"), Folder: "f", Project: "p", Package: "k",
		Status: execution.Failed, Attempt: 2, Error: "boom", EndedAt: time.Now(), CallbackURL: r.srv.URL + "/hook"}
	ctx := context.Background()
	require.NoError(t, n.Notify(ctx, ev))
	require.NoError(t, n.Notify(ctx, ev), "a second notice of a delivered webhook sends nothing")
	got := r.all()
	require.Len(t, got, 1)
	h := got[0].header
	require.NoError(t, notify.Verify(secret, h.Get(notify.HeaderTimestamp), got[0].body, h.Get(notify.HeaderSignature), time.Minute))
	require.Equal(t, notify.DeliveryID(ev.ExecutionID), h.Get(notify.HeaderDelivery))
	require.Empty(t, h.Get(notify.HeaderRedelivery))
	var p notify.Payload
	require.NoError(t, json.Unmarshal(got[0].body, &p))
	require.Equal(t, ev.ExecutionID, p.ExecutionID)
	require.Equal(t, execution.Failed, p.Status)
	require.Equal(t, 2, p.Attempt)
	require.Equal(t, "boom", p.Error)
	require.False(t, p.Redelivery)
}

func TestNotifyRedeliversWhenNotDelivered(t *testing.T) {
	t.Parallel()
	n := setup(t)
	r := newReceiver(t, 5) // down for the first notice's five tries
	ev := notify.Event{ExecutionID: testenv.Name("exec"), Folder: "f", Project: "p", Package: "k",
		Status: execution.Succeeded, Attempt: 1, EndedAt: time.Now(), CallbackURL: r.srv.URL}
	ctx := context.Background()
	require.ErrorContains(t, n.Notify(ctx, ev), "503")
	require.Empty(t, r.all())
	require.NoError(t, n.Notify(ctx, ev), "the stream delivers the change again")
	got := r.all()
	require.Len(t, got, 1)
	require.Equal(t, "true", got[0].header.Get(notify.HeaderRedelivery))
	var p notify.Payload
	require.NoError(t, json.Unmarshal(got[0].body, &p))
	require.True(t, p.Redelivery)
}

func TestNotifyRefusesRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	n := setup(t)
	other := newReceiver(t, 0)
	// "localhost" and "127.0.0.1" are different hosts to the client.
	target := strings.Replace(other.srv.URL, "127.0.0.1", "localhost", 1)
	redirector := httptest.NewServer(http.RedirectHandler(target, http.StatusTemporaryRedirect))
	t.Cleanup(redirector.Close)
	ev := notify.Event{ExecutionID: testenv.Name("exec"), Status: execution.Succeeded, CallbackURL: redirector.URL}
	require.ErrorContains(t, n.Notify(context.Background(), ev), "refused")
	require.Empty(t, other.all())
}

func TestNewNeedsSecret(t *testing.T) {
	t.Parallel()
	_, err := notify.New(notify.Config{})
	require.ErrorContains(t, err, "SCALEOUT_WEBHOOK_SECRET")
}

// Without AllowPrivate a callback URL cannot reach loopback, private or
// metadata addresses, by IP or by a name that resolves to one; the refusal
// is final (one try) and says how to allow it.
func TestWebhooksRefusePrivateTargets(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	n, err := notify.New(notify.Config{
		Secret:     secret,
		Deliveries: notify.NewDynamoStore(env.Clients.DynamoDB, env.Set.Catalog.Name),
		Backoff:    10 * time.Millisecond,
	})
	require.NoError(t, err)
	r := newReceiver(t, 0)
	port := r.srv.URL[strings.LastIndex(r.srv.URL, ":"):]
	for _, target := range []string{
		r.srv.URL + "/hook",                        // 127.0.0.1
		"http://localhost" + port + "/hook",        // a name for loopback
		"http://[::1]" + port + "/hook",            // IPv6 loopback
		"http://169.254.169.254/latest/meta-data/", // instance metadata
		"http://10.1.2.3:9/hook",                   // private
	} {
		ev := notify.Event{ExecutionID: testenv.Name("exec"), Package: "k", Status: execution.Succeeded,
			EndedAt: time.Now(), CallbackURL: target}
		start := time.Now()
		err := n.Notify(context.Background(), ev)
		require.Error(t, err, target)
		require.Contains(t, err.Error(), "SCALEOUT_WEBHOOK_ALLOW_PRIVATE", target)
		require.Contains(t, err.Error(), "after 1 tries", "a refused target is not tried again: %s", target)
		require.Less(t, time.Since(start), 2*time.Second, target)
	}
	require.Empty(t, r.all(), "nothing reached the loopback receiver")
}

// A failed delivery waits longer after each try, up to RetryMax.
func TestSenderBackoff(t *testing.T) {
	t.Parallel()
	n := setup(t)
	s, err := notify.NewSender(notify.SenderConfig{Notifier: n, SQS: testenv.AWS(t).Clients.SQS, QueueURL: "http://queue",
		RetryBase: 30 * time.Second, RetryMax: time.Hour})
	require.NoError(t, err)
	for receives, want := range map[int]time.Duration{
		0: 30 * time.Second, 1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 7: 32 * time.Minute,
		8: time.Hour, 50: time.Hour,
	} {
		require.Equal(t, want, s.Backoff(receives), "after receive %d", receives)
	}
}

// Enqueue puts every delivery, in sends of at most ten and 256 KiB, and a
// delivery with a huge error still fits in a message.
func TestEnqueueEveryDelivery(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	ctx := context.Background()
	def := resources.WebhookQueue(testenv.Name("test-enqueue"))
	url, err := bootstrap.EnsureQueue(ctx, env.Clients.SQS, def)
	require.NoError(t, err)
	q, err := notify.NewQueue(env.Clients.SQS, url, nil)
	require.NoError(t, err)
	var evs []notify.Event
	for i := range 23 {
		ev := notify.Event{ExecutionID: fmt.Sprintf("exec-%02d", i), Package: "p", Status: execution.Failed, EndedAt: time.Now(), CallbackURL: "https://example.com/h"}
		if i%5 == 0 {
			ev.Error = strings.Repeat("x", 100<<10) // four of these exceed one send
		}
		evs = append(evs, ev)
	}
	n, err := q.Enqueue(ctx, evs)
	require.NoError(t, err)
	require.Equal(t, len(evs), n)
	seen := map[string]bool{}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		out, err := env.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		require.NoError(c, err)
		for _, m := range out.Messages {
			var ev notify.Event
			require.NoError(c, json.Unmarshal([]byte(aws.ToString(m.Body)), &ev))
			require.LessOrEqual(c, len(ev.Error), 65<<10)
			seen[ev.ExecutionID] = true
		}
		assert.Len(c, seen, len(evs))
	}, 20*time.Second, 10*time.Millisecond)
}
