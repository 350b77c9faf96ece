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

	"github.com/scaleout/scaleout/internal/aws/awsconfig"
	"github.com/scaleout/scaleout/internal/aws/awsmeter"
	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/wiring/assemble"
	"github.com/scaleout/scaleout/internal/wiring/config"
	"github.com/scaleout/scaleout/localstack/standins"
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
	floorFor     = 10 * time.Second // the bare-SDK dispatch floor, at dispatchRate
	throughputN  = 1000
	ceilingN     = 1000
	pollWait     = "1s"
	benchToken   = "bench-token-0123456789"
	ceilingPool  = "ceiling"
	systemBudget = 5 * time.Minute
)

// noopDefinition is the no-op package: one task that sleeps 0 s.
const noopDefinition = `{"name":"noop","tasks":[{"name":"nothing","type":"sleep","with":{"duration":"0s"}}]}`

// system is Scaleout assembled on the stand-ins: the API behind a loopback
// HTTP server and workers running in this process.
type system struct {
	set      resources.Set
	sys      *awsconfig.Clients // the API's and the workers' clients, metered by meter
	obs      *awsconfig.Clients // the benchmark's own reads, not metered
	ceil     *awsconfig.Clients // the ceiling replay's clients, metered apart (ceilMeter)
	meter    *awsmeter.Meter
	ceilMet  *awsmeter.Meter
	msgs     *messages.Store
	api      *httptest.Server
	apiTimes *handlerTimes
	http     *http.Client
	queues   map[string]string
	prefix   string
	// addWorker starts one more worker of the system, metered by its own
	// meter.
	addWorker func(id string, concurrency int, meter *awsmeter.Meter) error
}

// systemOptions shape one system.
type systemOptions struct {
	prefix      string
	pools       []string
	workers     int
	concurrency int
	// pollWait is SCALEOUT_POLL_WAIT; "" keeps the worker's default.
	pollWait string
}

// handlerTimes records the API handler's time per POST, server side.
type handlerTimes struct {
	mu    sync.Mutex
	posts []time.Duration
}

func (h *handlerTimes) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		next.ServeHTTP(w, r)
		if r.Method == http.MethodPost {
			d := time.Since(t0)
			h.mu.Lock()
			h.posts = append(h.posts, d)
			h.mu.Unlock()
		}
	})
}

// take returns the POSTs' times since the last take.
func (h *handlerTimes) take() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.posts
	h.posts = nil
	return p
}

// metered returns base with m added to its API options (base's own
// options left as they are).
func metered(base aws.Config, m *awsmeter.Meter) aws.Config {
	c := base.Copy()
	c.APIOptions = append(slices.Clone(base.APIOptions), m.APIOption)
	return c
}

// newSystem creates the tables and queues of o.prefix and starts the API
// and the workers; stop stops them.
func newSystem(ctx context.Context, base aws.Config, o systemOptions, log *slog.Logger) (s *system, stop func(), err error) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	env := map[string]string{
		"SCALEOUT_PREFIX":             o.prefix,
		"SCALEOUT_POOLS":              strings.Join(o.pools, ","),
		"SCALEOUT_AUTH":               "token",
		"SCALEOUT_TOKEN":              benchToken,
		"SCALEOUT_SECRET_KEY":         hex.EncodeToString(secret),
		"SCALEOUT_WORKER_CONCURRENCY": strconv.Itoa(o.concurrency),
		"SCALEOUT_MAX_CPU":            "100",
	}
	if o.pollWait != "" {
		env["SCALEOUT_POLL_WAIT"] = o.pollWait
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
		return nil, nil, err
	}
	s = &system{set: apiCfg.Resources(), meter: awsmeter.New(), apiTimes: &handlerTimes{}, prefix: o.prefix}
	s.sys = awsconfig.New(metered(base, s.meter))
	s.obs = awsconfig.New(base)
	s.msgs = messages.NewStore(s.obs.DynamoDB, s.set.Catalog.Name)
	res, err := bootstrap.Ensure(ctx, s.obs.DynamoDB, s.obs.SQS, s.set)
	if err != nil {
		return nil, nil, fmt.Errorf("create tables and queues of %s: %w", o.prefix, err)
	}
	s.queues = res.QueueURLs
	srv, err := assemble.API(ctx, apiCfg, s.sys, log.With("component", "api", "system", o.prefix))
	if err != nil {
		return nil, nil, err
	}
	s.api = httptest.NewServer(s.apiTimes.wrap(srv))
	s.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	wctx, stopWorkers := context.WithCancel(ctx)
	var workersDone sync.WaitGroup
	stop = func() { stopWorkers(); workersDone.Wait(); s.api.Close() }
	start := func(id string, extra map[string]string, clients *awsconfig.Clients) error {
		extra["SCALEOUT_WORKER_ID"] = id
		wcfg, err := cfgFor(extra)
		if err != nil {
			return err
		}
		w, err := assemble.Worker(ctx, wcfg, clients, log.With("component", "worker", "system", o.prefix))
		if err != nil {
			return err
		}
		workersDone.Go(func() { _ = w.Run(wctx) })
		return nil
	}
	for i := range o.workers {
		if err := start(fmt.Sprintf("%s-worker-%d", o.prefix, i+1), map[string]string{}, s.sys); err != nil {
			stop()
			return nil, nil, err
		}
	}
	s.addWorker = func(id string, concurrency int, meter *awsmeter.Meter) error {
		return start(id, map[string]string{"SCALEOUT_WORKER_CONCURRENCY": strconv.Itoa(concurrency)},
			awsconfig.New(metered(base, meter)))
	}
	return s, stop, nil
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

	base, err := awscfg.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	run := time.Now().UnixMilli()
	s, stopMain, err := newSystem(ctx, base, systemOptions{
		prefix: fmt.Sprintf("bench-%d", run), pools: []string{resources.DefaultPool, ceilingPool},
		workers: workerCount, concurrency: workerConcurrency, pollWait: pollWait,
	}, log)
	if err != nil {
		return err
	}
	defer stopMain()
	s.ceilMet = awsmeter.New()
	s.ceil = awsconfig.New(metered(base, s.ceilMet))
	long, stopLong, err := newSystem(ctx, base, systemOptions{
		prefix: fmt.Sprintf("benchlong-%d", run), pools: []string{resources.DefaultPool},
		workers: 1, concurrency: runningConcurrency,
	}, log)
	if err != nil {
		return err
	}
	defer stopLong()
	defer func() {
		if len(stack.Started()) < 2 { // a shared stand-in: leave nothing behind
			s.cleanUp()
			long.cleanUp()
		}
	}()
	fmt.Fprintf(out, "# system: API (assemble.API) on a loopback HTTP server, %d workers (assemble.Worker) x concurrency %d in this process, "+
		"SCALEOUT_POLL_WAIT=%s SCALEOUT_MAX_CPU=100, prefix %s; package: one sleep task of 0s\n",
		workerCount, workerConcurrency, pollWait, s.prefix)

	// The running-minute system runs alongside, on its own tables, queue and
	// meter, with the worker's default settings.
	running := make(chan runningResult, 1)
	go func() { running <- long.runningMinutes(ctx) }()

	// Warm-up: the JVM and the connections.
	t0 = time.Now()
	ids, _, err := s.submitMany(ctx, warmupN)
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if _, err := s.waitFinal(ctx, ids); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	fmt.Fprintf(out, "# warm-up: %d executions in %s\n", warmupN, time.Since(t0).Round(time.Millisecond))

	disp, err := s.dispatch(ctx)
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	tpl, err := s.template(ctx, disp.ids[0])
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	if err := s.floor(ctx, tpl); err != nil {
		return fmt.Errorf("dispatch floor: %w", err)
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
	fmt.Printf("bench: throughput.executions_per_s %.1f executions/s\n", tput.rate)
	fmt.Printf("bench: throughput.ceiling_per_s %.1f executions/s\n", ceiling)
	fmt.Printf("bench: throughput.ratio %.2f ratio\n", tput.rate/ceiling)

	agg, err := s.aggregateCost(ctx, tput.ids)
	if err != nil {
		return fmt.Errorf("stream aggregates: %w", err)
	}
	stderrf("# waiting for the running-minute system (%d executions of a %s sleep, one worker of concurrency %d)\n",
		runningConcurrency, runningSleep, runningConcurrency)
	var rm runningResult
	select {
	case rm = <-running:
	case <-ctx.Done():
		return fmt.Errorf("running-minute system: %w", ctx.Err())
	}
	if rm.err != nil {
		return fmt.Errorf("running-minute system: %w", rm.err)
	}
	printCosts(disp, tput, agg, rm)
	printCapacity(s.set, tput, rm)
	return nil
}

// submit posts the no-op package and returns the accepted execution's id
// and created_at.
func (s *system) submit(ctx context.Context) (string, time.Time, error) {
	return s.post(ctx, `{"definition":`+noopDefinition+`}`)
}

// post posts an execution request and returns the accepted execution's id
// and created_at.
func (s *system) post(ctx context.Context, body string) (string, time.Time, error) {
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
// fast as the API takes them, and returns their ids and each POST's
// duration.
func (s *system) submitMany(ctx context.Context, n int) ([]string, []time.Duration, error) {
	var next atomic.Int64
	ids := make([]string, n)
	durs := make([]time.Duration, n)
	errs := make([]error, submitters)
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				t0 := time.Now()
				id, _, err := s.submit(ctx)
				if err != nil {
					errs[g] = err
					return
				}
				ids[i], durs[i] = id, time.Since(t0)
			}
		})
	}
	wg.Wait()
	return ids, durs, errors.Join(errs...)
}

// item is an execution item as the benchmark reads it.
type item = map[string]ddbtypes.AttributeValue

// read reads the executions ids (the base table, by key: no index) with
// the benchmark's own client, projected to names.
func (s *system) read(ctx context.Context, ids []string, names ...string) (map[string]item, error) {
	proj := make([]string, len(names))
	attrs := map[string]string{}
	for i, n := range names {
		proj[i] = "#a" + strconv.Itoa(i)
		attrs[proj[i]] = n
	}
	got := map[string]item{}
	for chunk := range slices.Chunk(ids, 100) {
		keys := make([]item, len(chunk))
		for i, id := range chunk {
			keys[i] = item{resources.ExecutionKey: str(id)}
		}
		req := map[string]ddbtypes.KeysAndAttributes{s.set.Executions.Name: {
			Keys: keys, ProjectionExpression: aws.String(strings.Join(proj, ", ")), ExpressionAttributeNames: attrs,
		}}
		for len(req) > 0 {
			out, err := s.obs.DynamoDB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("read executions: %w", err)
			}
			for _, it := range out.Responses[s.set.Executions.Name] {
				got[sOf(it[resources.ExecutionKey])] = it
			}
			req = out.UnprocessedKeys
		}
	}
	return got, nil
}

// finalStatuses are the statuses an execution ends in.
var finalStatuses = []string{"succeeded", "failed", "canceled", "ended_unexpectedly"}

// waitFinal waits until the executions ids succeeded, reading them by key,
// and returns their stage times.
func (s *system) waitFinal(ctx context.Context, ids []string) ([]stamps, error) {
	deadline := time.Now().Add(90 * time.Second)
	pending := ids
	for {
		got, err := s.read(ctx, pending, resources.ExecutionKey, "status")
		if err != nil {
			return nil, err
		}
		var still []string
		for _, id := range pending {
			switch st := sOf(got[id]["status"]); {
			case st == "succeeded":
			case slices.Contains(finalStatuses, st):
				return nil, fmt.Errorf("execution %s %s: the no-op package must succeed; see the worker's log above", id, st)
			default:
				still = append(still, id)
			}
		}
		if pending = still; len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d executions succeeded after 90 s", len(ids)-len(pending), len(ids))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	got, err := s.read(ctx, ids, resources.ExecutionKey, "created_at", "started_at", "ended_at")
	if err != nil {
		return nil, err
	}
	out := make([]stamps, 0, len(ids))
	for _, id := range ids {
		it := got[id]
		out = append(out, stamps{id: id, created: msAttr(it["created_at"]), started: msAttr(it["started_at"]), ended: msAttr(it["ended_at"])})
	}
	return out, nil
}

// stamps are an execution's stage times.
type stamps struct {
	id                        string
	created, started, ended   time.Time
	packageStarted, submitted time.Time
}

// dispatchResult is what the dispatch phase measured.
type dispatchResult struct {
	ids []string
	// apiHandler is the API handler's median time per POST, server side, at
	// the dispatch phase's steady load (about one request at a time, as one
	// Lambda instance serves them).
	apiHandler time.Duration
}

// dispatch offers a steady load and measures accepted → package started.
func (s *system) dispatch(ctx context.Context) (dispatchResult, error) {
	var res dispatchResult
	n := int(dispatchFor.Seconds() * dispatchRate)
	every := time.Second / dispatchRate
	got := make([]stamps, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	s.meter.Take() // count this phase's calls only
	s.apiTimes.take()
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
		return res, err
	}
	for _, g := range got {
		res.ids = append(res.ids, g.id)
	}
	claimed, err := s.waitFinal(ctx, res.ids)
	if err != nil {
		return res, err
	}
	posts := s.apiTimes.take()
	slices.Sort(posts)
	var sum time.Duration
	for _, d := range posts {
		sum += d
	}
	res.apiHandler = pct(posts, 50)
	apiMean := sum / time.Duration(max(len(posts), 1))
	byID := map[string]stamps{}
	for _, c := range claimed {
		byID[c.id] = c
	}
	var dispatch, claim, toStart, accept []time.Duration
	for i := range got {
		page, err := s.msgs.List(ctx, got[i].id, "", 10)
		if err != nil {
			return res, err
		}
		for _, m := range page.Messages {
			if m.Kind == "package_started" {
				got[i].packageStarted = m.Time
				break
			}
		}
		if got[i].packageStarted.IsZero() {
			return res, fmt.Errorf("execution %s has no package_started message", got[i].id)
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
	stderrf("#   API handler time per POST, server side, over %d POSTs: p50 %.2f ms, mean %.2f ms (the cost figures take the p50: "+
		"on this shared machine the mean is mostly other processes' load)\n", len(posts), msOf(res.apiHandler), msOf(apiMean))
	stderrf("# dispatch phase, SDK calls of the API and the workers (p50/p99: call latency; a ReceiveMessage's includes its long-poll wait):\n")
	printCalls(os.Stderr, s.meter.Take(), n)
	fmt.Printf("bench: dispatch.p50 %.1f ms\n", msOf(pct(dispatch, 50)))
	fmt.Printf("bench: dispatch.p95 %.1f ms\n", msOf(pct(dispatch, 95)))
	fmt.Printf("bench: dispatch.p99 %.1f ms\n", msOf(pct(dispatch, 99)))
	return res, nil
}

// throughputResult is what the throughput phase measured.
type throughputResult struct {
	rate float64
	ids  []string
	// usage is everything the API and the workers called from the first
	// POST until the last execution was seen final.
	usage awsmeter.Usage
}

// throughput submits throughputN executions as fast as possible and
// measures completions per second from the first accept to the last final
// status, and the SDK calls and capacity per execution.
func (s *system) throughput(ctx context.Context) (throughputResult, error) {
	var res throughputResult
	s.meter.Take() // start counting afresh
	ids, posts, err := s.submitMany(ctx, throughputN)
	if err != nil {
		return res, err
	}
	fin, err := s.waitFinal(ctx, ids)
	if err != nil {
		return res, err
	}
	res.ids = ids
	res.usage = s.meter.Take()
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
	res.rate = float64(throughputN) / span.Seconds()
	stderrf("# throughput: %d executions submitted by %d clients at once; first created_at -> last ended_at %s\n",
		throughputN, submitters, span.Round(time.Millisecond))
	stderrf("#   POST p50 %.1f ms p99 %.1f ms; accepted -> claim sent p50 %.0f ms p99 %.0f ms; accepted -> ended p50 %.0f ms p99 %.0f ms (queueing)\n",
		msOf(pct(posts, 50)), msOf(pct(posts, 99)), msOf(pct(claim, 50)), msOf(pct(claim, 99)), msOf(pct(e2e, 50)), msOf(pct(e2e, 99)))
	perExec := float64(res.usage.CallCount("DynamoDB.BatchWriteItem")) / throughputN
	stderrf("# calls: every DynamoDB and SQS call the API and the 2 workers made from the first POST until the benchmark saw the last "+
		"execution final (API PutItem+SendMessage; worker ReceiveMessage incl. empty long polls, claim and finish UpdateItem, "+
		"DeleteMessage; worker registry heartbeats; anything else listed), except the message writes "+
		"(DynamoDB.BatchWriteItem to the catalog), divided by %d executions = %.2f; breakdown (table in brackets):\n", throughputN, perExec)
	printCalls(os.Stderr, res.usage, throughputN)
	fmt.Printf("bench: calls.per_execution %.2f calls\n", perExec)
	var byOp []string
	for _, c := range slices.SortedFunc(maps.Keys(res.usage.Items), func(a, b awsmeter.Call) int {
		return strings.Compare(a.Op+a.Table, b.Op+b.Table)
	}) {
		byOp = append(byOp, fmt.Sprintf("%s [%s] %.2f", c.Op, c.Table[strings.LastIndex(c.Table, "-")+1:], float64(res.usage.Items[c])/throughputN))
	}
	stderrf("# items written per execution (each a write unit or more; on DynamoDB Local each also a stream record): %s\n", strings.Join(byOp, ", "))
	fmt.Printf("bench: writes.items_per_execution %.2f items\n", float64(res.usage.ItemsWritten())/throughputN)
	return res, nil
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
