package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscfg "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/scaleout/scaleout/localstack/standins"
	"github.com/scaleout/scaleout/pkg/assemble"
	"github.com/scaleout/scaleout/pkg/awsconfig"
	"github.com/scaleout/scaleout/pkg/bootstrap"
	"github.com/scaleout/scaleout/pkg/config"
	"github.com/scaleout/scaleout/pkg/messages"
	"github.com/scaleout/scaleout/pkg/resources"
)

// The system figures' settings.
const (
	workerCount       = 2
	workerConcurrency = 4
	// submitters is how many clients submit at once in the throughput run
	// (and how many producers the ceiling replay runs).
	submitters   = workerCount * workerConcurrency
	warmupN      = 300
	dispatchRate = 20 // executions per second
	dispatchFor  = 15 * time.Second
	throughputN  = 1000
	ceilingN     = 1000
	pollWait     = "1s"
	benchToken   = "bench-token-0123456789"
	ceilingPool  = "ceiling"
	systemBudget = 4 * time.Minute
)

// noopDefinition is the no-op package: one task that sleeps 0 s.
const noopDefinition = `{"name":"noop","tasks":[{"name":"nothing","type":"sleep","with":{"duration":"0s"}}]}`

// system is Scaleout assembled on the stand-ins: the API behind a loopback
// HTTP server and workers running in this process.
type system struct {
	set     resources.Set
	sys     *awsconfig.Clients // the API's and the workers' clients, counted
	obs     *awsconfig.Clients // the benchmark's own reads, not counted
	ceil    *awsconfig.Clients // the ceiling replay's clients, counted apart
	counter *callCounter
	ceilCnt *callCounter
	msgs    *messages.Store
	api     *httptest.Server
	http    *http.Client
	queues  map[string]string
}

func runSystem(ctx context.Context) (err error) {
	ctx, cancel := context.WithTimeout(ctx, systemBudget)
	defer cancel()
	out := os.Stderr

	// The benchmark's own stand-ins, on their own ports, so that neither
	// `make run`'s nor the tests' tables (which slow DynamoDB Local down)
	// are in the measurement.
	for k, v := range map[string]string{standins.EnvDynamoDBPort: "8200", standins.EnvSQSPort: "9524"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	stderrf("# load average at start: %s (figures below are only comparable on an otherwise idle machine)\n", loadAvg())
	defer func() { stderrf("# load average at end: %s\n", loadAvg()) }()
	t0 := time.Now()
	stack, err := standins.Start(ctx, standins.Options{})
	if err != nil {
		return fmt.Errorf("start the stand-ins: %w", err)
	}
	defer func() {
		if serr := stack.Stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop the stand-ins: %w", serr))
		}
	}()
	for _, kv := range stack.Env() { // ours, whatever the environment says
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	fmt.Fprintf(out, "# stand-ins: DynamoDB Local %s, fauxqs %s (started by this run: %v; ready in %s)\n",
		stack.DynamoDBEndpoint, stack.SQSEndpoint, stack.Started(), time.Since(t0).Round(time.Millisecond))
	if len(stack.Started()) < 2 {
		fmt.Fprintln(out, "# WARNING: a stand-in was already running and is reused; its earlier tables may slow DynamoDB Local")
	}

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	env := map[string]string{
		"SCALEOUT_PREFIX":             fmt.Sprintf("bench-%d", time.Now().UnixMilli()),
		"SCALEOUT_POOLS":              resources.DefaultPool + "," + ceilingPool,
		"SCALEOUT_AUTH":               "token",
		"SCALEOUT_TOKEN":              benchToken,
		"SCALEOUT_SECRET_KEY":         hex.EncodeToString(secret),
		"SCALEOUT_WORKER_CONCURRENCY": strconv.Itoa(workerConcurrency),
		"SCALEOUT_MAX_CPU":            "100",
		"SCALEOUT_POLL_WAIT":          pollWait,
	}
	cfgFor := func(extra map[string]string) (config.Config, error) {
		return config.FromEnv(func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return env[k] // never the caller's SCALEOUT_* settings
		})
	}
	apiCfg, err := cfgFor(nil)
	if err != nil {
		return err
	}

	s := &system{set: apiCfg.Resources(), counter: newCallCounter(), ceilCnt: newCallCounter()}
	base, err := awscfg.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	counted := base.Copy()
	counted.APIOptions = append(counted.APIOptions, s.counter.apiOption)
	s.sys = awsconfig.New(counted)
	ceil := base.Copy()
	ceil.APIOptions = append(ceil.APIOptions, s.ceilCnt.apiOption)
	s.ceil = awsconfig.New(ceil)
	s.obs = awsconfig.New(base)
	s.msgs = messages.NewStore(s.obs.DynamoDB, s.set.Catalog.Name)

	res, err := bootstrap.Ensure(ctx, s.obs.DynamoDB, s.obs.SQS, s.set)
	if err != nil {
		return fmt.Errorf("create tables and queues: %w", err)
	}
	s.queues = res.QueueURLs
	defer func() {
		if len(stack.Started()) < 2 { // a shared stand-in: leave nothing behind
			s.cleanUp()
		}
	}()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := assemble.API(ctx, apiCfg, s.sys, log.With("component", "api"))
	if err != nil {
		return err
	}
	s.api = httptest.NewServer(srv)
	defer s.api.Close()
	s.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	wctx, stopWorkers := context.WithCancel(ctx)
	var workersDone sync.WaitGroup
	defer func() { stopWorkers(); workersDone.Wait() }()
	for i := range workerCount {
		wcfg, err := cfgFor(map[string]string{"SCALEOUT_WORKER_ID": fmt.Sprintf("bench-worker-%d", i+1)})
		if err != nil {
			return err
		}
		w, err := assemble.Worker(ctx, wcfg, s.sys, log.With("component", "worker"))
		if err != nil {
			return err
		}
		workersDone.Go(func() { _ = w.Run(wctx) })
	}
	fmt.Fprintf(out, "# system: API (assemble.API) on a loopback HTTP server, %d workers (assemble.Worker) x concurrency %d in this process, "+
		"SCALEOUT_POLL_WAIT=%s SCALEOUT_MAX_CPU=100, prefix %s; package: one sleep task of 0s\n",
		workerCount, workerConcurrency, pollWait, apiCfg.Prefix)

	// Warm-up: the JVM and the connections.
	t0 = time.Now()
	if _, err := s.submitMany(ctx, warmupN); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if err := s.waitFinal(ctx, t0, warmupN); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	fmt.Fprintf(out, "# warm-up: %d executions in %s\n", warmupN, time.Since(t0).Round(time.Millisecond))

	if err := s.dispatch(ctx); err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	tpl, err := s.template(ctx)
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	ceilA, err := s.ceiling(ctx, tpl, "before the throughput run")
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	tput, err := s.throughput(ctx)
	if err != nil {
		return fmt.Errorf("throughput: %w", err)
	}
	ceilB, err := s.ceiling(ctx, tpl, "after the throughput run")
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	ceiling := (ceilA + ceilB) / 2
	fmt.Printf("bench: throughput.executions_per_s %.1f executions/s\n", tput)
	fmt.Printf("bench: throughput.ceiling_per_s %.1f executions/s\n", ceiling)
	fmt.Printf("bench: throughput.ratio %.2f ratio\n", tput/ceiling)
	return nil
}

// submit posts the no-op package and returns the accepted execution's id
// and created_at.
func (s *system) submit(ctx context.Context) (string, time.Time, error) {
	body := `{"definition":` + noopDefinition + `}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.api.URL+"/v1/executions", strings.NewReader(body))
	if err != nil {
		return "", time.Time{}, err
	}
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return "", time.Time{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", time.Time{}, fmt.Errorf("POST /v1/executions: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var e struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.ID == "" {
		return "", time.Time{}, fmt.Errorf("POST /v1/executions: unexpected answer %q", b)
	}
	return e.ID, e.CreatedAt, nil
}

// submitMany submits n executions from `submitters` clients at once, as
// fast as the API takes them, and returns each POST's duration.
func (s *system) submitMany(ctx context.Context, n int) ([]time.Duration, error) {
	var next atomic.Int64
	durs := make([]time.Duration, n)
	errs := make([]error, submitters)
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				t0 := time.Now()
				if _, _, err := s.submit(ctx); err != nil {
					errs[g] = err
					return
				}
				durs[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	return durs, errors.Join(errs...)
}

// createdFrom is the key condition value for executions created at or after t.
func createdFrom(t time.Time) string { return fmt.Sprintf("%013d", t.UnixMilli()) }

// count counts the executions in status created at or after since (the
// by_status index).
func (s *system) count(ctx context.Context, status string, since time.Time) (int, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.set.Executions.Name),
		IndexName:                 aws.String(resources.ByStatus),
		KeyConditionExpression:    aws.String("#s = :s AND #k >= :k"),
		ExpressionAttributeNames:  map[string]string{"#s": "status", "#k": resources.CreatedKey},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": str(status), ":k": str(createdFrom(since))},
		Select:                    ddbtypes.SelectCount,
	}
	n := 0
	p := dynamodb.NewQueryPaginator(s.obs.DynamoDB, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		n += int(out.Count)
	}
	return n, nil
}

// waitFinal waits until n executions created at or after since succeeded.
func (s *system) waitFinal(ctx context.Context, since time.Time, n int) error {
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; ; i++ {
		done, err := s.count(ctx, "succeeded", since)
		if err != nil {
			return err
		}
		if done >= n {
			return nil
		}
		if i%4 == 3 {
			failed, err := s.count(ctx, "failed", since)
			if err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d executions failed", failed)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d executions succeeded after 90 s", done, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// stamps are an execution's stage times.
type stamps struct {
	id                        string
	created, started, ended   time.Time
	packageStarted, submitted time.Time
}

// finals reads the stage times of the executions that succeeded since.
func (s *system) finals(ctx context.Context, since time.Time) ([]stamps, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.set.Executions.Name),
		IndexName:                 aws.String(resources.ByStatus),
		KeyConditionExpression:    aws.String("#s = :s AND #k >= :k"),
		ExpressionAttributeNames:  map[string]string{"#s": "status", "#k": resources.CreatedKey},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": str("succeeded"), ":k": str(createdFrom(since))},
		ProjectionExpression:      aws.String("id, created_at, started_at, ended_at"),
	}
	var out []stamps
	p := dynamodb.NewQueryPaginator(s.obs.DynamoDB, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			out = append(out, stamps{id: sOf(it["id"]), created: msAttr(it["created_at"]),
				started: msAttr(it["started_at"]), ended: msAttr(it["ended_at"])})
		}
	}
	return out, nil
}

// dispatch offers a steady load and measures accepted → package started.
func (s *system) dispatch(ctx context.Context) error {
	n := int(dispatchFor.Seconds() * dispatchRate)
	every := time.Second / dispatchRate
	got := make([]stamps, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	s.counter.take() // count this phase's calls only
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		wg.Go(func() {
			t0 := time.Now()
			id, created, err := s.submit(ctx)
			got[i] = stamps{id: id, created: created, submitted: t0}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := s.waitFinal(ctx, start, n); err != nil {
		return err
	}
	claimed, err := s.finals(ctx, start)
	if err != nil {
		return err
	}
	byID := map[string]stamps{}
	for _, c := range claimed {
		byID[c.id] = c
	}
	var dispatch, claim, toStart, accept []time.Duration
	for i := range got {
		page, err := s.msgs.List(ctx, got[i].id, "", 10)
		if err != nil {
			return err
		}
		for _, m := range page.Messages {
			if m.Kind == "package_started" {
				got[i].packageStarted = m.Time
				break
			}
		}
		if got[i].packageStarted.IsZero() {
			return fmt.Errorf("execution %s has no package_started message", got[i].id)
		}
		c := byID[got[i].id]
		dispatch = append(dispatch, got[i].packageStarted.Sub(got[i].created))
		claim = append(claim, c.started.Sub(got[i].created))
		toStart = append(toStart, got[i].packageStarted.Sub(c.started))
		accept = append(accept, got[i].created.Sub(got[i].submitted))
	}
	for _, d := range [][]time.Duration{dispatch, claim, toStart, accept} {
		slices.Sort(d)
	}
	stderrf("# dispatch: %d executions offered at %d/s for %s, each POST on its own schedule (open loop); dispatch = the "+
		"package_started message's time (read with the messages store; engine clock) minus the execution's created_at "+
		"(stamped by the API before its PutItem; ms, truncated: up to +1 ms); same process, same clock. "+
		"started_at is stamped by the worker just before its claim UpdateItem\n", n, dispatchRate, dispatchFor)
	for _, row := range []struct {
		name string
		d    []time.Duration
	}{
		{"accepted -> package_started", dispatch},
		{"  accepted -> claim sent (started_at)", claim},
		{"  claim sent -> package_started", toStart},
		{"POST sent -> created_at stamped", accept},
	} {
		stderrf("#   %-48s p50 %7.2f  p95 %7.2f  p99 %7.2f  max %7.2f ms\n", row.name,
			msOf(pct(row.d, 50)), msOf(pct(row.d, 95)), msOf(pct(row.d, 99)), msOf(row.d[len(row.d)-1]))
	}
	stderrf("# dispatch phase, SDK calls of the API and the workers (p50/p99: call latency; a ReceiveMessage's includes its long-poll wait):\n")
	s.counter.take().print(os.Stderr, n)
	fmt.Printf("bench: dispatch.p50 %.1f ms\n", msOf(pct(dispatch, 50)))
	fmt.Printf("bench: dispatch.p95 %.1f ms\n", msOf(pct(dispatch, 95)))
	fmt.Printf("bench: dispatch.p99 %.1f ms\n", msOf(pct(dispatch, 99)))
	return nil
}

// throughput submits throughputN executions as fast as possible and
// measures completions per second from the first accept to the last final
// status, and the SDK calls per execution.
func (s *system) throughput(ctx context.Context) (float64, error) {
	s.counter.take() // start counting afresh
	since := time.Now()
	posts, err := s.submitMany(ctx, throughputN)
	if err != nil {
		return 0, err
	}
	if err := s.waitFinal(ctx, since, throughputN); err != nil {
		return 0, err
	}
	calls, items := s.counter.takeAll()
	fin, err := s.finals(ctx, since)
	if err != nil {
		return 0, err
	}
	if len(fin) != throughputN {
		return 0, fmt.Errorf("%d final executions, want %d", len(fin), throughputN)
	}
	first, last := fin[0].created, fin[0].ended
	var e2e, claim []time.Duration
	for _, f := range fin {
		first = minTime(first, f.created)
		last = maxTime(last, f.ended)
		e2e = append(e2e, f.ended.Sub(f.created))
		claim = append(claim, f.started.Sub(f.created))
	}
	slices.Sort(e2e)
	slices.Sort(claim)
	slices.Sort(posts)
	span := last.Sub(first)
	rate := float64(throughputN) / span.Seconds()
	stderrf("# throughput: %d executions submitted by %d clients at once; first created_at -> last ended_at %s\n",
		throughputN, submitters, span.Round(time.Millisecond))
	stderrf("#   POST p50 %.1f ms p99 %.1f ms; accepted -> claim sent p50 %.0f ms p99 %.0f ms; accepted -> ended p50 %.0f ms p99 %.0f ms (queueing)\n",
		msOf(pct(posts, 50)), msOf(pct(posts, 99)), msOf(pct(claim, 50)), msOf(pct(claim, 99)), msOf(pct(e2e, 50)), msOf(pct(e2e, 99)))
	perExec := float64(calls.total("DynamoDB.BatchWriteItem")) / throughputN
	stderrf("# calls: every DynamoDB and SQS call the API and the 2 workers made from the first POST until the benchmark saw the last "+
		"execution final (API PutItem+SendMessage; worker ReceiveMessage incl. empty long polls, claim and finish UpdateItem, "+
		"DeleteMessage; worker registry heartbeats; anything else listed), except the message writes "+
		"(DynamoDB.BatchWriteItem to the catalog), divided by %d executions = %.2f; breakdown (table in brackets):\n", throughputN, perExec)
	calls.print(os.Stderr, throughputN)
	fmt.Printf("bench: calls.per_execution %.2f calls\n", perExec)
	written := 0
	var byOp []string
	for _, op := range slices.Sorted(maps.Keys(items)) {
		written += items[op]
		byOp = append(byOp, fmt.Sprintf("%s %.2f", op, float64(items[op])/throughputN))
	}
	stderrf("# items written per execution (each a write unit or more; on DynamoDB Local each also a stream record): %s\n", strings.Join(byOp, ", "))
	fmt.Printf("bench: writes.items_per_execution %.2f items\n", float64(written)/throughputN)
	return rate, nil
}

// loadAvg is the 1, 5 and 15 minute load average (Linux), or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func stderrf(format string, args ...any) { fmt.Fprintf(os.Stderr, format, args...) }

func str(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }

func num(v int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func sOf(av ddbtypes.AttributeValue) string {
	if v, ok := av.(*ddbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func msAttr(av ddbtypes.AttributeValue) time.Time {
	v, ok := av.(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return time.Time{}
	}
	n, _ := strconv.ParseInt(v.Value, 10, 64)
	return time.UnixMilli(n)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// cleanUp deletes the run's tables and queues (on a shared stand-in).
func (s *system) cleanUp() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, t := range s.set.Tables() {
		_, _ = s.obs.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(t.Name)})
	}
	for _, q := range s.set.Pools {
		for _, name := range []string{q.Name, q.DeadLetter.Name} {
			if out, err := s.obs.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)}); err == nil {
				_, _ = s.obs.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
			}
		}
	}
}
