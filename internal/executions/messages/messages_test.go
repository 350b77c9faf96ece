package messages_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/testkit/testlog"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func setup(t *testing.T) (*messages.Store, string) {
	t.Helper()
	env := testenv.AWS(t)
	return messages.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name), uuid.NewString()
}

func TestWriterBatchesAndListPages(t *testing.T) {
	t.Parallel()
	store, id := setup(t)
	w := messages.NewWriter(store, id, 1, messages.WriterOptions{FlushEvery: 20 * time.Millisecond})
	for i := range 60 {
		w.Add(messages.Message{Kind: "output", Task: "load", Stream: "stdout", Message: fmt.Sprintf("line %d", i)})
	}
	w.Add(messages.Message{Kind: "warning", Message: strings.Repeat("x", messages.MaxMessageBytes+10)})
	w.Add(messages.Message{Kind: "warning", Message: strings.Repeat("é", messages.MaxMessageBytes)})
	require.NoError(t, w.Close())

	// Attempt 2 sorts after attempt 1.
	w2 := messages.NewWriter(store, id, 2, messages.WriterOptions{})
	w2.Add(messages.Message{Kind: "package_started"})
	require.NoError(t, w2.Close())

	ctx := context.Background()
	var all []messages.Message
	cursor := ""
	for range 10 {
		p, err := store.List(ctx, id, cursor, 25)
		require.NoError(t, err)
		all = append(all, p.Messages...)
		if len(p.Messages) == 0 {
			require.Equal(t, cursor, p.Next, "an empty page keeps the cursor, for tailing")
			break
		}
		cursor = p.Next
	}
	require.Len(t, all, 63)
	for i := range 60 {
		require.Equal(t, fmt.Sprintf("line %d", i), all[i].Message)
		require.Equal(t, i+1, all[i].Seq)
		require.Equal(t, 1, all[i].Attempt)
	}
	for _, m := range all[60:62] {
		require.True(t, strings.HasSuffix(m.Message, "… (cut)"))
		require.LessOrEqual(t, len(m.Message), messages.MaxMessageBytes, "the marker fits within the cap")
		require.True(t, utf8.ValidString(m.Message), "cut on a character boundary")
	}
	require.Equal(t, 2, all[62].Attempt)
	require.Equal(t, "package_started", all[62].Kind)

	_, err := store.List(ctx, id, "bogus", 10)
	require.ErrorIs(t, err, messages.ErrBadCursor)
}

func TestWriterDropsBeyondTheCap(t *testing.T) {
	t.Parallel()
	store, id := setup(t)
	w := messages.NewWriter(store, id, 1, messages.WriterOptions{FlushEvery: time.Hour, MaxBuffered: 10})
	for range 15 {
		w.Add(messages.Message{Kind: "output", Message: "x"})
	}
	err := w.Close()
	require.ErrorContains(t, err, "messages dropped")
	p, lerr := store.List(context.Background(), id, "", 100)
	require.NoError(t, lerr)
	// No full item was buffered, so the cap held 10 until Close wrote them.
	require.Len(t, p.Messages, 10)
}

// A flush is one item while it fits in MaxChunkBytes; large output spans
// several, and paging by message crosses them in order, without a gap or a
// repeat, whatever the page size.
func TestChunksAndPagingAcrossThem(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	store := messages.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name)
	ctx := context.Background()
	items := func(id string) int {
		out, err := env.Clients.DynamoDB.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(env.Set.Catalog.Name),
			KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": &types.AttributeValueMemberS{Value: "EXEC#" + id},
			},
		})
		require.NoError(t, err)
		return len(out.Items)
	}

	small := uuid.NewString()
	w := messages.NewWriter(store, small, 1, messages.WriterOptions{FlushEvery: time.Hour})
	for _, k := range []string{"package_started", "task_started", "task_ended", "package_ended"} {
		w.Add(messages.Message{Kind: k, Task: "main"})
	}
	require.NoError(t, w.Close())
	require.Equal(t, 1, items(small), "a no-op execution's four messages are one item")

	big := uuid.NewString()
	w = messages.NewWriter(store, big, 1, messages.WriterOptions{FlushEvery: time.Hour})
	line := strings.Repeat("y", messages.MaxMessageBytes-100)
	for i := range 40 {
		w.Add(messages.Message{Kind: "output", Stream: "stdout", Message: fmt.Sprintf("%03d %s", i, line)})
	}
	require.NoError(t, w.Close())
	n := items(big)
	require.GreaterOrEqual(t, n, 5, "40 x 8 KB do not fit in one %d-byte item", messages.MaxChunkBytes)
	t.Logf("40 messages of 8 KB: %d items", n)

	for _, size := range []int{1, 3, 7, 40, 1000} {
		var got []string
		cursor := ""
		for range 100 {
			p, err := store.List(ctx, big, cursor, size)
			require.NoError(t, err)
			require.LessOrEqual(t, len(p.Messages), size)
			if len(p.Messages) == 0 {
				break
			}
			for _, m := range p.Messages {
				got = append(got, m.Message[:3])
			}
			cursor = p.Next
		}
		require.Len(t, got, 40, "page size %d", size)
		for i, g := range got {
			require.Equal(t, fmt.Sprintf("%03d", i), g, "page size %d", size)
		}
	}
}

// A run's messages are written every FlushEvery while it goes, not only
// when it ends: a worker killed mid-run leaves what was printed before.
func TestWriterFlushesWhileTheRunGoes(t *testing.T) {
	t.Parallel()
	store, id := setup(t)
	w := messages.NewWriter(store, id, 1, messages.WriterOptions{FlushEvery: 200 * time.Millisecond})
	defer func() { require.NoError(t, w.Close()) }()
	w.Add(messages.Message{Kind: "output", Stream: "stdout", Message: "still running"})
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		p, err := store.List(context.Background(), id, "", 10)
		require.NoError(c, err)
		require.Len(c, p.Messages, 1)
		assert.Equal(c, "still running", p.Messages[0].Message)
	}, 10*time.Second, 50*time.Millisecond, "written before Close")
}

// A flush that cannot write keeps its messages and writes them at a later
// flush, once it can, each once.
func TestWriterRetriesAFailedWrite(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	ctx := context.Background()
	table := testenv.Name("messages-retry")
	store := messages.NewStore(env.Clients.DynamoDB, table) // not created yet
	id := uuid.NewString()
	logs := &testlog.Buffer{}
	w := messages.NewWriter(store, id, 1, messages.WriterOptions{FlushEvery: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	for i := range 3 {
		w.Add(messages.Message{Kind: "output", Message: fmt.Sprintf("line %d", i)})
	}
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "trying again at the next flush") },
		10*time.Second, 20*time.Millisecond, "a flush failed")
	w.Add(messages.Message{Kind: "output", Message: "line 3"})

	_, err := env.Clients.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = env.Clients.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	require.Eventually(t, func() bool {
		p, err := store.List(ctx, id, "", 10)
		return err == nil && len(p.Messages) == 4
	}, 10*time.Second, 50*time.Millisecond, "written once the table is there")
	require.NoError(t, w.Close(), "nothing is left unwritten")
	p, err := store.List(ctx, id, "", 10)
	require.NoError(t, err)
	require.Len(t, p.Messages, 4, "each once")
	for i, m := range p.Messages {
		require.Equal(t, fmt.Sprintf("line %d", i), m.Message)
	}
}

// A writer that could not write reports how many messages it lost.
func TestWriterReportsUnwritten(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	store := messages.NewStore(env.Clients.DynamoDB, testenv.Name("no-such-table"))
	w := messages.NewWriter(store, uuid.NewString(), 1, messages.WriterOptions{FlushEvery: time.Hour})
	w.Add(messages.Message{Kind: "output", Message: "lost"})
	w.Add(messages.Message{Kind: "output", Message: "lost too"})
	require.ErrorContains(t, w.Close(), "2 messages not written")
}
