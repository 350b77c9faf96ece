package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/aws/awsconfig"
	"github.com/scaleout/scaleout/internal/aws/awsmeter"
	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/queue"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// clock is a settable time for the API.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// privateSetup starts the API on tables and a queue of its own (removed at
// the end), so that a listing by day sees only this test's executions, with
// a clock the test sets and a store whose DynamoDB calls meter counts.
func privateSetup(t *testing.T, clk *clock) (bundle, *awsmeter.Meter) {
	t.Helper()
	shared := testenv.AWS(t)
	ctx := context.Background()
	set, err := resources.New("list-"+uuid.NewString()[:8], resources.DefaultPool)
	require.NoError(t, err)
	created, err := bootstrap.Ensure(ctx, shared.Clients.DynamoDB, shared.Clients.SQS, set)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, table := range set.Tables() {
			_, _ = shared.Clients.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table.Name)})
		}
		for _, u := range created.QueueURLs {
			_, _ = shared.Clients.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	meter := awsmeter.New()
	cfg, err := config.LoadDefaultConfig(ctx)
	require.NoError(t, err)
	cfg.APIOptions = append(cfg.APIOptions, meter.APIOption)
	metered := awsconfig.New(cfg).DynamoDB
	b := setup(t, func(d *api.Deps) {
		st := execstore.New(metered, set.Executions.Name, set.Catalog.Name)
		// Executions years old (the stand-in deletes what is past its TTL).
		st.Retention = 10 * 365 * 24 * time.Hour
		d.Store = st
		d.Queues = map[string]api.Enqueuer{resources.DefaultPool: queue.New(shared.Clients.SQS, created.QueueURLs[resources.DefaultPool])}
		d.Messages = messages.NewStore(shared.Clients.DynamoDB, set.Catalog.Name)
		sealer, err := secrets.NewLocalSealer(make([]byte, 32))
		require.NoError(t, err)
		cat, err := catalog.New(catalog.Config{DB: shared.Clients.DynamoDB, Table: set.Catalog.Name, Types: d.Types, Sealer: sealer})
		require.NoError(t, err)
		d.Catalog = cat
		d.Now = clk.now
	})
	return b, meter
}

// listing is what following a listing's cursors to the end took.
type listing struct {
	ids      []string
	requests int
	queries  []int // DynamoDB queries of each page
	took     time.Duration
}

func listAll(t *testing.T, b bundle, meter *awsmeter.Meter, query string) listing {
	t.Helper()
	var l listing
	start := time.Now()
	cursor := ""
	meter.Take()
	for {
		q := query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		code, out, _ := do(t, b, "GET", "/v1/executions?"+q, readerToken, "")
		require.Equal(t, http.StatusOK, code, "%s: %v", q, out)
		l.requests++
		l.queries = append(l.queries, countQueries(meter.Take()))
		page, ok := out["executions"].([]any)
		require.True(t, ok, "executions is an array: %v", out)
		for _, e := range page {
			l.ids = append(l.ids, e.(map[string]any)["id"].(string))
		}
		next, _ := out["next"].(string)
		if next == "" {
			break
		}
		require.Less(t, l.requests, 1000, "the listing ends")
		cursor = next
	}
	l.took = time.Since(start)
	return l
}

// countQueries counts the DynamoDB Query calls in u, on any table.
func countQueries(u awsmeter.Usage) int {
	n := 0
	for c, ds := range u.Calls {
		if c.Op == "DynamoDB.Query" {
			n += len(ds)
		}
	}
	return n
}

func reversed(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// create makes an execution through the API at the clock's time t.
func create(t *testing.T, b bundle, clk *clock, at time.Time, project string) string {
	t.Helper()
	clk.set(at)
	code, out, _ := do(t, b, "POST", "/v1/executions", adminToken,
		fmt.Sprintf(`{"project":%q,"package":"p","command":["true"]}`, project))
	require.Equal(t, http.StatusCreated, code, out)
	return out["id"].(string)
}

// A wide window with few executions: 24 executions made today (as a
// black-box sweep found them), listed with since=2000-01-01, come in one
// page whose queries do not grow with the window's days.
func TestListWideWindow(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Millisecond)
	clk := &clock{t: now}
	b, meter := privateSetup(t, clk)
	var ids []string
	for i := range 24 {
		ids = append(ids, create(t, b, clk, now.Add(time.Duration(i-24)*time.Minute), "default"))
	}
	clk.set(now)
	l := listAll(t, b, meter, "since=2000-01-01T00:00:00Z")
	t.Logf("since=2000-01-01, 24 executions made today: %d requests, %v, DynamoDB queries per page %v (%d in all)",
		l.requests, l.took.Round(time.Millisecond), l.queries, sum(l.queries))
	require.Equal(t, reversed(ids), l.ids, "all 24, newest first")
	require.Equal(t, 1, l.requests, "one page")
	require.LessOrEqual(t, l.queries[0], 3*resources.ListShards, "the days with no executions cost no queries")
}

// Every since and until is honoured, by day and by folder, inclusive; a
// far-future until lists the 30 days before now; a cursor keeps the
// window of the first page; pages of a wide window cost queries for the
// days with executions only.
func TestListByTime(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Millisecond)
	clk := &clock{t: now}
	b, meter := privateSetup(t, clk)
	ages := []time.Duration{time.Hour, 3 * 24 * time.Hour, 40 * 24 * time.Hour, 400 * 24 * time.Hour, 5 * 365 * 24 * time.Hour}
	var ids []string // newest first
	for _, age := range ages {
		ids = append(ids, create(t, b, clk, now.Add(-age), "default"))
	}
	clk.set(now)
	at := func(i int, d time.Duration) string {
		return url.QueryEscape(now.Add(-ages[i] + d).Format(time.RFC3339Nano))
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", ids[:2]},
		{"until=2099-01-01T00:00:00Z", ids[:2]},
		{"until=2099-01-01T00:00:00Z&since=2000-01-01T00:00:00Z", ids},
		{"since=2000-01-01T00:00:00Z", ids},
		{"since=1970-01-01T00:00:00Z&until=2200-01-01T00:00:00Z", ids},
		{"since=" + at(2, 0), ids[:3]},
		{"since=" + at(2, time.Millisecond), ids[:2]},
		{"until=" + at(1, 0), ids[1:2]},
		{"until=" + at(1, -time.Millisecond), nil},
		{"since=" + at(4, 0) + "&until=" + at(1, -time.Millisecond), ids[2:]},
		{"since=" + at(3, 0) + "&until=" + at(3, 0), ids[3:4]},
		{"since=2000-01-01T00:00:00Z&until=" + at(4, -time.Millisecond), nil},
		{"since=2099-01-01T00:00:00Z&until=2099-01-02T00:00:00Z", nil},
		{"folder=default&since=2000-01-01T00:00:00Z", ids},
		{"folder=default&until=" + at(1, 0), ids[1:]},
		{"folder=default&since=" + at(3, 0) + "&until=" + at(1, 0), ids[1:4]},
		{"package=p&since=" + at(2, time.Millisecond), ids[:2]},
		{"status=pending&until=" + at(3, 0), ids[3:]},
		{"status=pending&since=2000-01-01T00:00:00Z&until=2099-01-01T00:00:00Z", ids},
	} {
		l := listAll(t, b, meter, c.query)
		if c.want == nil {
			c.want = []string{}
		}
		if l.ids == nil {
			l.ids = []string{}
		}
		require.Equal(t, c.want, l.ids, "%s: %d requests, queries %v", c.query, l.requests, l.queries)
		require.Equal(t, 1, l.requests, "%s: one page", c.query)
	}

	// Pages of two: a cursor per page, each page's queries for its days.
	l := listAll(t, b, meter, "since=2000-01-01T00:00:00Z&limit=2")
	t.Logf("since=2000-01-01&limit=2 over 5 executions on 5 days: %d requests, DynamoDB queries per page %v", l.requests, l.queries)
	require.Equal(t, ids, l.ids)
	require.Equal(t, 3, l.requests)
	for _, q := range l.queries {
		require.LessOrEqual(t, q, (1+3)*resources.ListShards, "the marker round and at most three days a page")
	}

	// The cursor keeps the default window of the first page: 29 days on,
	// the execution 3 days older than the first page's now is still in.
	code, out, _ := do(t, b, "GET", "/v1/executions?limit=1", readerToken, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, ids[0], out["executions"].([]any)[0].(map[string]any)["id"])
	clk.set(now.Add(29 * 24 * time.Hour))
	code, out, _ = do(t, b, "GET", "/v1/executions?limit=1&cursor="+url.QueryEscape(out["next"].(string)), readerToken, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, ids[1], out["executions"].([]any)[0].(map[string]any)["id"])
}
