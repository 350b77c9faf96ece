package messages_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/messages"
	"github.com/scaleout/scaleout/pkg/testenv"
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
	require.Len(t, all, 62)
	for i := range 60 {
		require.Equal(t, fmt.Sprintf("line %d", i), all[i].Message)
		require.Equal(t, i+1, all[i].Seq)
		require.Equal(t, 1, all[i].Attempt)
	}
	require.True(t, strings.HasSuffix(all[60].Message, "(cut)"))
	require.Equal(t, 2, all[61].Attempt)
	require.Equal(t, "package_started", all[61].Kind)

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
	// The kick at 25 never came, so the cap held 10 until Close wrote them.
	require.Len(t, p.Messages, 10)
}
