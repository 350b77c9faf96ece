package execstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/awsconfig"
	"github.com/scaleout/scaleout/internal/aws/awsmeter"
	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/scaleouttype"
)

// privateStore is a store on tables of its own (removed at the end), so
// that a listing by day sees only this test's executions, whose DynamoDB
// calls meter counts.
func privateStore(t *testing.T) (*execstore.Store, *awsmeter.Meter) {
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
	st := execstore.New(awsconfig.New(cfg).DynamoDB, set.Executions.Name, set.Catalog.Name)
	// Executions years old (the stand-in deletes what is past its TTL).
	st.Retention = 10 * 365 * 24 * time.Hour
	return st, meter
}

// createAt records a pending execution made at the time given.
func createAt(t *testing.T, st *execstore.Store, at time.Time) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	require.NoError(t, st.Create(context.Background(), execution.Execution{
		ID: id, Folder: "default", Project: "default", Package: "p", Pool: resources.DefaultPool,
		Status: execution.Pending, Definition: []byte(`{}`), CreatedAt: at,
	}))
	return id
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

// listPages follows a listing's cursors to the end: the ids, and the
// DynamoDB queries of each page.
func listPages(t *testing.T, st *execstore.Store, meter *awsmeter.Meter, f scaleouttype.ExecutionFilter, now time.Time) (ids []string, queries []int) {
	t.Helper()
	meter.Take()
	for {
		page, err := st.List(context.Background(), f, now)
		require.NoError(t, err)
		queries = append(queries, countQueries(meter.Take()))
		for _, e := range page.Executions {
			ids = append(ids, e.ID)
		}
		if page.Next == "" {
			return ids, queries
		}
		require.Less(t, len(queries), 1000, "the listing ends")
		f.Cursor = page.Next
	}
}

// A listing's queries follow the days that hold executions, not the
// window's days: 24 executions made today (as a black-box sweep found
// them), listed since 2000-01-01, come in one page whose queries do not
// grow with the window; and pages of a wide window over executions on
// five days cost the marker round and at most three days each. (The
// API's tests check the same windows' answers on the in-memory store.)
func TestListQueriesFollowTheDays(t *testing.T) {
	t.Parallel()
	since := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

	t.Run("today only", func(t *testing.T) {
		t.Parallel()
		st, meter := privateStore(t)
		now := time.Now().UTC().Truncate(time.Millisecond)
		var ids []string // newest first
		for i := range 24 {
			ids = append([]string{createAt(t, st, now.Add(time.Duration(i-24)*time.Minute))}, ids...)
		}
		got, queries := listPages(t, st, meter, scaleouttype.ExecutionFilter{Since: since}, now)
		t.Logf("since=2000-01-01, 24 executions made today: DynamoDB queries per page %v", queries)
		require.Equal(t, ids, got, "all 24, newest first")
		require.Len(t, queries, 1, "one page")
		require.LessOrEqual(t, queries[0], 3*resources.ListShards, "the days with no executions cost no queries")
	})

	t.Run("five days, pages of two", func(t *testing.T) {
		t.Parallel()
		st, meter := privateStore(t)
		now := time.Now().UTC().Truncate(time.Millisecond)
		var ids []string // newest first
		for _, age := range []time.Duration{time.Hour, 3 * 24 * time.Hour, 40 * 24 * time.Hour, 400 * 24 * time.Hour, 5 * 365 * 24 * time.Hour} {
			ids = append(ids, createAt(t, st, now.Add(-age)))
		}
		got, queries := listPages(t, st, meter, scaleouttype.ExecutionFilter{Since: since, Limit: 2}, now)
		t.Logf("since=2000-01-01, limit 2, 5 executions on 5 days: DynamoDB queries per page %v", queries)
		require.Equal(t, ids, got)
		require.Len(t, queries, 3)
		for _, q := range queries {
			require.LessOrEqual(t, q, (1+3)*resources.ListShards, "the marker round and at most three days a page")
		}
	})
}
