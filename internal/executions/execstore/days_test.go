package execstore

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// privateStore is a store on tables of its own (removed at the end): the
// day markers and SINCE start as this test wants them.
func privateStore(t *testing.T) *Store {
	t.Helper()
	env := testenv.AWS(t)
	ctx := context.Background()
	set, err := resources.New("days-"+uuid.NewString()[:8], resources.DefaultPool)
	require.NoError(t, err)
	created, err := bootstrap.Ensure(ctx, env.Clients.DynamoDB, env.Clients.SQS, set)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, table := range set.Tables() {
			_, _ = env.Clients.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table.Name)})
		}
		for _, u := range created.QueueURLs {
			_, _ = env.Clients.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return New(env.Clients.DynamoDB, set.Executions.Name, set.Catalog.Name)
}

func pendingAt(created time.Time) execution.Execution {
	return execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: "x",
		Pool: "default", Status: execution.Pending, CreatedAt: created.UTC().Truncate(time.Millisecond),
	}
}

func listIDs(t *testing.T, s *Store, f Filter, now time.Time) []string {
	t.Helper()
	ids := []string{}
	for range 20 {
		p, err := s.List(context.Background(), f, now)
		require.NoError(t, err)
		for _, e := range p.Executions {
			ids = append(ids, e.ID)
		}
		if p.Next == "" {
			return ids
		}
		f.Cursor = p.Next
	}
	t.Fatal("the listing did not end")
	return nil
}

// Executions made before the day markers (by an earlier version: written
// here without them) are still listed by day while they are kept; a table
// that had none when the first marker was written never visits an
// unmarked day.
func TestDaysBeforeTheMarkers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC()
	since := Filter{Since: now.AddDate(-5, 0, 0)}

	s := privateStore(t)
	require.Empty(t, listIDs(t, s, since, now), "no executions, no SINCE: nothing")
	var old []execution.Execution
	for _, age := range []int{2, 20, 120} { // days; 120 is past Retention (90)
		e := pendingAt(now.AddDate(0, 0, -age))
		put, err := s.put(e)
		require.NoError(t, err)
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item})
		require.NoError(t, err)
		old = append(old, e)
	}
	days, err := s.listDays(ctx, since.Since, now, now)
	require.NoError(t, err)
	require.Len(t, days, 91, "no SINCE and executions there: every day kept is visited")
	require.Equal(t, []string{old[0].ID, old[1].ID}, listIDs(t, s, since, now), "the ones kept, without markers")

	fresh := pendingAt(now)
	require.NoError(t, s.Create(ctx, fresh))
	got, err := s.readSince(ctx)
	require.NoError(t, err)
	require.Equal(t, sinceItem{Day: dayString(now), Older: true}, got, "the table had executions when SINCE was made")
	require.Equal(t, []string{fresh.ID, old[0].ID, old[1].ID}, listIDs(t, s, since, now))

	// A table with no executions when its first marker is written.
	s = privateStore(t)
	a, b := pendingAt(now), pendingAt(now.AddDate(0, 0, -3))
	require.NoError(t, s.Create(ctx, a))
	require.NoError(t, s.Create(ctx, b)) // an earlier day moves SINCE back
	got, err = s.readSince(ctx)
	require.NoError(t, err)
	require.Equal(t, sinceItem{Day: dayString(b.CreatedAt), Older: false}, got)
	days, err = s.listDays(ctx, since.Since, now, now)
	require.NoError(t, err)
	require.Equal(t, []time.Time{now.Truncate(24 * time.Hour), now.AddDate(0, 0, -3).Truncate(24 * time.Hour)}, days,
		"only the marked days")
	require.Equal(t, []string{a.ID, b.ID}, listIDs(t, s, since, now))
}
