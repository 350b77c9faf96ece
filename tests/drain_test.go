package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/awsconfig"
	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	ex "github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testlog"
	"github.com/scaleout/scaleout/internal/wiring/assemble"
	"github.com/scaleout/scaleout/internal/wiring/config"
)

// The helpers in this file (poolStack, poolWorker and the functions on
// them) serve both TestDrainOnSIGTERM and TestChaos: an installation of its
// own (tables and queues under a unique prefix) on the stand-ins, the API
// in-process over loopback HTTP, and worker processes built from
// ./cmd/scaleout-worker.

const stackToken = "pool-stack-token-0123456789abcdef"

// poolStack is one test's installation.
type poolStack struct {
	prefix   string
	env      map[string]string
	cfg      config.Config
	clients  *awsconfig.Clients
	store    *execstore.Store
	base     string       // the API's URL
	api      *http.Client // checks each answer against the API's OpenAPI document
	queueURL string
	dlqURL   string
	bin      string // the worker binary
	logs     *testlog.Buffer
	log      *slog.Logger
}

// startPoolStack creates the tables and queues of a new prefix, serves the
// API on loopback and builds the worker. Everything is removed when the
// test ends.
func startPoolStack(t *testing.T, ctx context.Context, name string) *poolStack {
	t.Helper()
	s := &poolStack{prefix: name + "-" + uuid.NewString()[:8], logs: &testlog.Buffer{}}
	s.log = slog.New(slog.NewTextHandler(s.logs, nil))
	s.env = map[string]string{
		"SCALEOUT_PREFIX":     s.prefix,
		"SCALEOUT_POOLS":      resources.DefaultPool,
		"SCALEOUT_TOKEN":      stackToken,
		"SCALEOUT_SECRET_KEY": strings.Repeat("cd", 32),
	}
	var err error
	s.cfg, s.clients, err = assemble.Load(ctx, func(k string) string { return s.env[k] })
	require.NoError(t, err)
	set, err := resources.New(s.prefix, resources.DefaultPool)
	require.NoError(t, err)
	res, err := bootstrap.Ensure(ctx, s.clients.DynamoDB, s.clients.SQS, set)
	require.NoError(t, err)
	s.queueURL = res.QueueURLs[resources.DefaultPool]
	dlq, err := s.clients.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(set.Pools[resources.DefaultPool].DeadLetter.Name)})
	require.NoError(t, err)
	s.dlqURL = aws.ToString(dlq.QueueUrl)
	t.Cleanup(func() {
		// Registered first, so it runs last: after the workers are gone.
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, tb := range set.Tables() {
			_, _ = s.clients.DynamoDB.DeleteTable(cctx, &dynamodb.DeleteTableInput{TableName: aws.String(tb.Name)})
		}
		for _, u := range []string{s.queueURL, s.dlqURL} {
			_, _ = s.clients.SQS.DeleteQueue(cctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	s.store = execstore.New(s.clients.DynamoDB, set.Executions.Name, set.Catalog.Name)

	srv, err := assemble.API(ctx, s.cfg, s.clients, s.log)
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	s.base = ts.URL
	checkAPI(t, s.base, stackToken)
	s.api = apiClient(t, s.base)

	s.bin = filepath.Join(t.TempDir(), "worker")
	out, err := exec.Command("go", "build", "-o", s.bin, "../cmd/scaleout-worker").CombinedOutput()
	require.NoError(t, err, "go build ./cmd/scaleout-worker: %s", out)
	return s
}

// submit posts an execution; it returns an error rather than failing the
// test, so that it can run off the test's goroutine.
func (s *poolStack) submit(ctx context.Context, req map[string]any) (ex.Execution, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return ex.Execution{}, err
	}
	hr, err := http.NewRequestWithContext(ctx, "POST", s.base+"/v1/executions", bytes.NewReader(body))
	if err != nil {
		return ex.Execution{}, err
	}
	hr.Header.Set("Authorization", "Bearer "+stackToken)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := s.api.Do(hr)
	if err != nil {
		return ex.Execution{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return ex.Execution{}, err
	}
	if resp.StatusCode != http.StatusCreated {
		return ex.Execution{}, fmt.Errorf("POST /v1/executions: %d %s", resp.StatusCode, b)
	}
	var e ex.Execution
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("POST /v1/executions: %w: %s", err, b)
	}
	if e.Status != ex.Pending {
		return e, fmt.Errorf("POST /v1/executions: status %s, want pending", e.Status)
	}
	return e, nil
}

// queueDepth is a queue's visible + in-flight + delayed messages.
func (s *poolStack) queueDepth(ctx context.Context, url string) (int, error) {
	out, err := s.clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range out.Attributes {
		i, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("queue attribute %q: %w", v, err)
		}
		n += i
	}
	return n, nil
}

// waitQueueEmpty checks that no execution message is left behind: it stops
// the live workers (SIGTERM: they sign their sessions off), then empties the
// work queue within the deadline, deleting the session watchdogs (each
// worker session keeps one in the queue while it lives, and a signed-off
// session's is dropped when it comes back) and failing on any execution
// message, visible, in flight or delayed.
func (s *poolStack) waitQueueEmpty(t *testing.T, ctx context.Context, within time.Duration, live ...*poolWorker) {
	t.Helper()
	for _, w := range live {
		if w.alive() {
			_ = w.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, w := range live {
		select {
		case <-w.exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("worker %s did not stop on SIGTERM", w.id)
		}
	}
	deadline := time.Now().Add(within)
	for {
		n, err := s.queueDepth(ctx, s.queueURL)
		require.NoError(t, err)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%d messages still in queue %s after %s", n, s.queueURL, within)
		}
		out, err := s.clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.queueURL),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30})
		require.NoError(t, err)
		for _, m := range out.Messages {
			var body struct {
				ExecutionID string `json:"execution_id"`
				Session     string `json:"session"`
			}
			require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &body))
			require.Empty(t, body.ExecutionID, "an execution message was left in the queue: %s", aws.ToString(m.Body))
			require.NotEmpty(t, body.Session, "not a session watchdog: %s", aws.ToString(m.Body))
			_, err := s.clients.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.queueURL), ReceiptHandle: m.ReceiptHandle})
			require.NoError(t, err)
		}
	}
}

// workerEnv is the environment of a worker process with id.
func (s *poolStack) workerEnv(id string, extra map[string]string) []string {
	env := os.Environ() // with the stand-ins' AWS_ENDPOINT_URL_* from testenv.Main
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}
	env = append(env, "SCALEOUT_WORKER_ID="+id, "SCALEOUT_MAX_CPU=100", "SCALEOUT_MIN_MEMORY_MB=0")
	for k, v := range extra {
		env = append(env, k+"="+v) // the last value of a key wins
	}
	return env
}

// poolWorker is a running worker process.
type poolWorker struct {
	id     string
	cmd    *exec.Cmd
	logs   *testlog.Buffer
	exited chan struct{}
	err    error // the Wait error, once exited is closed
}

func (s *poolStack) startWorker(id string, extra map[string]string) (*poolWorker, error) {
	w := &poolWorker{id: id, logs: &testlog.Buffer{}, exited: make(chan struct{})}
	w.cmd = exec.Command(s.bin)
	w.cmd.Env = s.workerEnv(id, extra)
	w.cmd.Stdout, w.cmd.Stderr = w.logs, w.logs
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", id, err)
	}
	go func() { w.err = w.cmd.Wait(); close(w.exited) }()
	return w, nil
}

func (w *poolWorker) alive() bool {
	select {
	case <-w.exited:
		return false
	default:
		return true
	}
}

// kill ends the worker with SIGKILL and waits for it.
func (w *poolWorker) kill() {
	_ = w.cmd.Process.Kill()
	<-w.exited
}

// workerSet is a test's worker processes: every one is killed when the
// test ends, and their output shown if it failed.
type workerSet struct {
	s   *poolStack
	t   *testing.T
	all []*poolWorker
}

func (s *poolStack) workerSet(t *testing.T) *workerSet {
	ws := &workerSet{s: s, t: t}
	t.Cleanup(func() {
		for _, w := range ws.all {
			w.kill()
		}
		if t.Failed() {
			t.Logf("worker output:\n%s\nAPI output:\n%s", ws.logs(), s.logs.String())
		}
	})
	return ws
}

// start starts a worker process with id and the extra environment.
func (ws *workerSet) start(id string, env map[string]string) *poolWorker {
	ws.t.Helper()
	w, err := ws.s.startWorker(id, env)
	require.NoError(ws.t, err)
	ws.all = append(ws.all, w)
	return w
}

// logs is every worker's output, worker by worker.
func (ws *workerSet) logs() string {
	var b strings.Builder
	for _, w := range ws.all {
		fmt.Fprintf(&b, "--- worker %s\n%s", w.id, w.logs.String())
	}
	return b.String()
}

// linesAbout returns the lines of logs that mention any of ids.
func linesAbout(logs string, ids map[string]bool) string {
	var b strings.Builder
	for line := range strings.Lines(logs) {
		for id := range ids {
			if strings.Contains(line, id) {
				b.WriteString(line)
				break
			}
		}
	}
	return b.String()
}

// waitExecutions polls the store until ok holds for every execution of ids,
// and returns them; past the deadline it fails the test and shows the
// executions that are not there yet, with their attempts.
func (s *poolStack) waitExecutions(t *testing.T, ctx context.Context, ids []string, within time.Duration,
	what string, ok func(ex.Execution) bool, logs func() string) map[string]ex.Execution {
	t.Helper()
	deadline := time.Now().Add(within)
	got := map[string]ex.Execution{}
	waiting := map[string]bool{}
	for _, id := range ids {
		waiting[id] = true
	}
	for {
		for id := range waiting {
			e, err := s.store.Get(ctx, id)
			if err != nil && ctx.Err() == nil {
				require.NoError(t, err)
			}
			got[id] = e
			if err == nil && ok(e) {
				delete(waiting, id)
			}
		}
		if len(waiting) == 0 {
			return got
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			var b strings.Builder
			for id := range waiting {
				j, _ := json.MarshalIndent(got[id], "", "  ")
				fmt.Fprintf(&b, "%s\n", j)
			}
			t.Fatalf("%d of %d executions not %s after %s:\n%s\nlogs about them:\n%s", len(waiting), len(ids), what,
				within, b.String(), linesAbout(logs()+s.logs.String(), waiting))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestDrainOnSIGTERM: a worker told to stop lets its executions run for its
// grace period, then releases them; another worker runs them to the end.
func TestDrainOnSIGTERM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := startPoolStack(t, ctx, "drain")

	const grace = time.Second
	workerEnv := map[string]string{
		"SCALEOUT_WORKER_CONCURRENCY": "2",
		"SCALEOUT_LEASE":              "3s",
		"SCALEOUT_POLL_WAIT":          "1s",
		"SCALEOUT_GRACE":              grace.String(),
	}
	ws := s.workerSet(t)
	allLogs := ws.logs
	first := ws.start("drain-w1", workerEnv)

	// Retries 0: a release does not count against them.
	var ids []string
	for range 2 {
		e, err := s.submit(ctx, map[string]any{"folder": "drain", "project": "drain", "package": "sleep20",
			"command": []string{"sh", "-c", "sleep 20"}})
		require.NoError(t, err)
		ids = append(ids, e.ID)
	}
	s.waitExecutions(t, ctx, ids, 60*time.Second, "running on drain-w1", func(e ex.Execution) bool {
		return e.Status == ex.Running && e.WorkerID == first.id
	}, allLogs)

	second := ws.start("drain-w2", workerEnv)

	require.NoError(t, first.cmd.Process.Signal(syscall.SIGTERM))
	stopAt := time.Now()
	// Grace, then the long poll in flight (1 s) and the release writes; a
	// wide margin for a loaded machine.
	select {
	case <-first.exited:
		require.NoError(t, first.err, "the first worker's exit")
		t.Logf("drain-w1 exited %s after SIGTERM (grace %s)", time.Since(stopAt).Round(time.Millisecond), grace)
	case <-time.After(grace + 15*time.Second):
		t.Fatalf("drain-w1 still running %s after SIGTERM (grace %s)", grace+15*time.Second, grace)
	}
	require.Contains(t, first.logs.String(), "execution released for another worker")

	done := s.waitExecutions(t, ctx, ids, 90*time.Second, "final", func(e ex.Execution) bool {
		return e.Status.Final()
	}, allLogs)
	for _, id := range ids {
		e := done[id]
		require.Equal(t, ex.Succeeded, e.Status, "execution %s: %s", id, e.Error)
		require.Equal(t, second.id, e.WorkerID, "execution %s ran to the end on the second worker", id)
		require.Equal(t, 2, e.Attempt, "execution %s", id)
		require.Len(t, e.Attempts, 1, "execution %s: one earlier attempt, released", id)
		rec := e.Attempts[0]
		require.Equal(t, ex.OutcomeReleased, rec.Outcome, "execution %s: %+v", id, rec)
		require.Equal(t, 1, rec.Attempt)
		require.Equal(t, first.id, rec.WorkerID)
		require.Contains(t, rec.Reason, first.id)
		require.False(t, rec.StartedAt.IsZero())
		require.False(t, rec.EndedAt.Before(rec.StartedAt), "released attempt %+v", rec)
		require.NotNil(t, e.StartedAt)
		require.NotNil(t, e.EndedAt)
		require.False(t, e.StartedAt.Before(rec.EndedAt), "execution %s: attempt 2 started %s before attempt 1 ended %s",
			id, e.StartedAt, rec.EndedAt)
		t.Logf("execution %s: released at %s, taken again %s later, ended %s", id, rec.EndedAt.Format(time.RFC3339Nano),
			e.StartedAt.Sub(rec.EndedAt), e.EndedAt.Format(time.RFC3339Nano))
	}
	// Nothing lost: no message left behind.
	require.True(t, second.alive(), "the second worker is still serving")
	s.waitQueueEmpty(t, ctx, 30*time.Second, second)
	if n, err := s.queueDepth(ctx, s.dlqURL); err == nil {
		require.Zero(t, n, "messages in the dead-letter queue")
	}
	require.NotErrorIs(t, ctx.Err(), context.DeadlineExceeded, "test ran out of time")
}
