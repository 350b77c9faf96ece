package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/stream/notify"
	"github.com/scaleout/scaleout/internal/stream/sqspoll"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/wiring/assemble"
	"github.com/scaleout/scaleout/internal/wiring/config"
	"github.com/scaleout/scaleout/localstack/secretstore"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const secret = "webhooks-test-secret-0123456789abcdef"

// request is one request a test receiver got, and what it answered.
type request struct {
	header   http.Header
	body     []byte
	answered int // 0: none (the sender gave up waiting)
}

// receiver is a scheduler's webhook endpoint on loopback whose answer the
// test sets: 0 holds the request until the sender gives up.
type receiver struct {
	mu     sync.Mutex
	answer int
	got    []request
	srv    *httptest.Server
}

func newReceiver(t *testing.T, answer int) *receiver {
	r := &receiver{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		answer := r.answer
		r.got = append(r.got, request{header: req.Header.Clone(), body: b, answered: answer})
		r.mu.Unlock()
		if answer == 0 {
			<-req.Context().Done() // slow: past the sender's timeout
			return
		}
		w.WriteHeader(answer)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) set(answer int) {
	r.mu.Lock()
	r.answer = answer
	r.mu.Unlock()
}

func (r *receiver) all() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

// queue makes a webhook queue of its own for a test, with maxReceives
// receives before its dead-letter queue.
func queue(t *testing.T, maxReceives int) (url, dlq string) {
	t.Helper()
	env := testenv.AWS(t)
	def := resources.WebhookQueue(testenv.Name("test-hooks"))
	def.MaxReceiveCount = maxReceives
	url, err := bootstrap.EnsureQueue(context.Background(), env.Clients.SQS, def)
	require.NoError(t, err)
	out, err := env.Clients.SQS.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(def.DeadLetter.Name)})
	require.NoError(t, err)
	return url, aws.ToString(out.QueueUrl)
}

// runSender runs a webhook sender on the queue at url, as the stack's
// function does but with retries a second apart and a 1 s request
// timeout, until the test ends.
func runSender(t *testing.T, url string, maxReceives int) {
	t.Helper()
	env := testenv.AWS(t)
	n, err := notify.New(notify.Config{
		Secret:       []byte(secret),
		Deliveries:   notify.NewDynamoStore(env.Clients.DynamoDB, env.Set.Catalog.Name),
		AllowPrivate: true, // the receivers are on loopback
		Tries:        1,
		Timeout:      time.Second,
	})
	require.NoError(t, err)
	s, err := notify.NewSender(notify.SenderConfig{Notifier: n, SQS: env.Clients.SQS, QueueURL: url,
		RetryBase: time.Second, RetryMax: time.Second, MaxReceives: maxReceives})
	require.NoError(t, err)
	p, err := sqspoll.New(env.Clients.SQS, s.Handle, sqspoll.Config{QueueURL: url, Wait: time.Second})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// streamBatch is the stream function's fixture with fresh execution ids
// (e1 succeeded, e2 failed), in a folder of its own, with callback URLs
// to target.
func streamBatch(t *testing.T, target string) (ev events.DynamoDBTimeWindowEvent, folder string, ids map[string]string) {
	t.Helper()
	b, err := os.ReadFile("../stream/testdata/stream-batch.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &ev))
	ev.ShardID = "shardId-hooks-" + uuid.NewString()[:8]
	folder = "hooks-" + uuid.NewString()[:8]
	ids = map[string]string{}
	for _, r := range ev.Records {
		for _, img := range []map[string]events.DynamoDBAttributeValue{r.Change.Keys, r.Change.OldImage, r.Change.NewImage} {
			if id, ok := img["id"]; ok {
				if ids[id.String()] == "" {
					ids[id.String()] = testenv.Name(id.String())
				}
				img["id"] = events.NewStringAttribute(ids[id.String()])
			}
			if _, ok := img["status"]; ok {
				img["folder"] = events.NewStringAttribute(folder)
				img["callback_url"] = events.NewStringAttribute(target)
			}
		}
	}
	return ev, folder, ids
}

// depth is how many messages a queue holds, visible or in flight.
func depth(t *testing.T, url string) int {
	t.Helper()
	n, err := depthOf(testenv.AWS(t).Clients.SQS, url)
	require.NoError(t, err)
	return n
}

// depthOf is depth for an EventuallyWithT condition, which runs in a
// goroutine of its own: it returns its error rather than failing the test.
func depthOf(client *sqs.Client, url string) (int, error) {
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range out.Attributes {
		var i int
		if err := json.Unmarshal([]byte(v), &i); err != nil {
			return 0, err
		}
		n += i
	}
	return n, nil
}

// A receiver slower than the sender's timeout holds neither the stream
// nor its aggregates; its deliveries are tried again, a backoff apart, and
// reach it once it recovers, signed and marked as redeliveries.
func TestDeliveryRetriedUntilTheReceiverRecovers(t *testing.T) {
	env := testenv.AWS(t)
	ctx := context.Background()
	url, dlq := queue(t, resources.WebhookMaxReceives)
	recv := newReceiver(t, 0) // slow: never answers in time
	stream, err := streamHandler(t, url)
	require.NoError(t, err)
	ev, folder, ids := streamBatch(t, recv.srv.URL+"/hook?token=x")

	// The stream handler returns at once, its aggregates written.
	resp, err := stream.Handle(ctx, ev)
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	c, err := aggregate.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name).
		Counts(ctx, aggregate.Ref{Folder: folder, Project: "daily", Package: "load-sales"})
	require.NoError(t, err)
	require.Equal(t, int64(1), c[execution.Succeeded])
	require.Equal(t, int64(1), c[execution.Failed])

	runSender(t, url, resources.WebhookMaxReceives)
	// Each delivery is tried, and tried again, while the receiver is slow.
	require.Eventually(t, func() bool { return len(recv.all()) >= 4 }, 30*time.Second, 20*time.Millisecond,
		"the deliveries were not tried again")
	recv.set(http.StatusNoContent) // it recovers

	delivered := func() map[string]request {
		out := map[string]request{}
		for _, r := range recv.all() {
			if r.answered == http.StatusNoContent {
				var p notify.Payload
				require.NoError(t, json.Unmarshal(r.body, &p))
				out[p.ExecutionID] = r
			}
		}
		return out
	}
	require.Eventually(t, func() bool { return len(delivered()) == 2 }, 30*time.Second, 20*time.Millisecond,
		"the deliveries did not reach the receiver once it recovered")
	for id, r := range delivered() {
		require.Contains(t, []string{ids["e1"], ids["e2"]}, id)
		require.NoError(t, notify.Verify([]byte(secret), r.header.Get(notify.HeaderTimestamp), r.body,
			r.header.Get(notify.HeaderSignature), time.Minute))
		require.Equal(t, "true", r.header.Get(notify.HeaderRedelivery), "a send after a timed-out one may repeat it")
		require.Equal(t, notify.DeliveryID(id), r.header.Get(notify.HeaderDelivery))
	}
	client := testenv.AWS(t).Clients.SQS
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		n, err := depthOf(client, url)
		require.NoError(c, err)
		assert.Zero(c, n)
	}, 10*time.Second, 20*time.Millisecond, "delivered messages are deleted")
	require.Zero(t, depth(t, dlq))
}

// A receiver that always fails gets each delivery maxReceiveCount times;
// then it lands in the dead-letter queue, which the stack alarms on.
func TestAlwaysFailingReceiverLandsInTheDeadLetterQueue(t *testing.T) {
	env := testenv.AWS(t)
	ctx := context.Background()
	const maxReceives = 3
	url, dlq := queue(t, maxReceives)
	recv := newReceiver(t, http.StatusBadGateway)
	q, err := notify.NewQueue(env.Clients.SQS, url, nil)
	require.NoError(t, err)
	ev := notify.Event{ExecutionID: testenv.Name("exec"), Package: "load-sales", Status: execution.Failed,
		Attempt: 1, EndedAt: time.Now(), CallbackURL: recv.srv.URL + "/hook"}
	n, err := q.Enqueue(ctx, []notify.Event{ev})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	runSender(t, url, maxReceives)

	var dead []notify.Event
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		out, err := env.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		require.NoError(c, err)
		for _, m := range out.Messages {
			var d notify.Event
			require.NoError(c, json.Unmarshal([]byte(aws.ToString(m.Body)), &d))
			dead = append(dead, d)
		}
		assert.NotEmpty(c, dead)
	}, 60*time.Second, 10*time.Millisecond, "the delivery never reached the dead-letter queue")
	require.Len(t, dead, 1)
	require.Equal(t, ev.ExecutionID, dead[0].ExecutionID)
	require.Equal(t, ev.CallbackURL, dead[0].CallbackURL)
	require.Len(t, recv.all(), maxReceives, "one try per receive")
	require.Zero(t, depth(t, url))
}

// On AWS the webhook signing secret is a Secrets Manager secret the stack
// makes; the function reads it by ARN when it starts and signs with it.
// The event is an SQS batch as Lambda hands it over.
func TestWebhookSecretFromSecretsManager(t *testing.T) {
	testenv.AWS(t)
	store := secretstore.Start()
	defer store.Close()
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", store.URL)
	arn := store.Put("scaleout-webhook", secret)
	url, _ := queue(t, resources.WebhookMaxReceives)
	recv := newReceiver(t, http.StatusNoContent)

	env := map[string]string{
		"SCALEOUT_PREFIX":                testenv.Prefix,
		"SCALEOUT_WEBHOOK_SECRET_ARN":    arn,
		"SCALEOUT_WEBHOOK_QUEUE_URL":     url,
		"SCALEOUT_WEBHOOK_ALLOW_PRIVATE": "true", // the receiver is on loopback
	}
	h, err := newHandler(context.Background(), func(k string) string { return env[k] }, nil)
	require.NoError(t, err)
	require.EqualValues(t, 1, store.Reads(), "read once, at start")

	b, err := os.ReadFile("testdata/sqs-batch.json")
	require.NoError(t, err)
	var ev events.SQSEvent
	require.NoError(t, json.Unmarshal(b, &ev))
	for i, m := range ev.Records {
		var d notify.Event
		require.NoError(t, json.Unmarshal([]byte(m.Body), &d))
		d.ExecutionID, d.CallbackURL = testenv.Name(d.ExecutionID), recv.srv.URL+"/hook"
		body, _ := json.Marshal(d)
		ev.Records[i].Body = string(body)
	}
	resp, err := h(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	got := recv.all()
	require.Len(t, got, 2, "one webhook per message")
	for _, r := range got {
		require.NoError(t, notify.Verify([]byte(secret), r.header.Get(notify.HeaderTimestamp), r.body,
			r.header.Get(notify.HeaderSignature), time.Minute), "signed with the secret from Secrets Manager")
		require.Empty(t, r.header.Get(notify.HeaderRedelivery), "a first send")
	}

	// A secret that cannot be read stops the function, saying which.
	env["SCALEOUT_WEBHOOK_SECRET_ARN"] = "arn:aws:secretsmanager:us-east-1:000000000000:secret:missing-abcdef"
	_, err = newHandler(context.Background(), func(k string) string { return env[k] }, nil)
	require.ErrorContains(t, err, "SCALEOUT_WEBHOOK_SECRET_ARN")
	require.ErrorContains(t, err, "ResourceNotFoundException")
}

// streamHandler is the stream function's handler as the stack configures
// it, enqueueing on the webhook queue at url.
func streamHandler(t *testing.T, url string) (aggregate.Handler, error) {
	t.Helper()
	env := testenv.AWS(t)
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"SCALEOUT_PREFIX": testenv.Prefix, "SCALEOUT_WEBHOOK_QUEUE_URL": url}[k]
	})
	if err != nil {
		return aggregate.Handler{}, err
	}
	return assemble.StreamHandler(context.Background(), cfg, env.Clients, nil)
}
