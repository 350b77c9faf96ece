package messagestest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/executions/messages/messagestest"
)

// TestMemoryConformance holds the in-memory log to the suite; the DynamoDB
// store's run is in package messages, on the stand-in.
func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	messagestest.Run(t, func(*testing.T) messages.Log { return messages.NewMemory() })
}

// flaky fails the first writes it is given.
type flaky struct {
	*messages.Memory
	mu    sync.Mutex
	fails int
	calls [][]messages.Message
}

func (f *flaky) Write(ctx context.Context, msgs []messages.Message) error {
	f.mu.Lock()
	f.calls = append(f.calls, msgs)
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		return errors.New("throttled")
	}
	return f.Memory.Write(ctx, msgs)
}

// A write that fails is tried again, as the same batch, and what follows
// waits behind it; Close reports nothing left.
func TestWriterRetriesTheSameBatch(t *testing.T) {
	t.Parallel()
	sink := &flaky{Memory: messages.NewMemory(), fails: 2}
	w := messages.NewWriter(sink, "e1", 1, messages.WriterOptions{FlushEvery: 10 * time.Millisecond})
	for i := range 3 {
		w.Add(messages.Message{Kind: "output", Message: fmt.Sprintf("line %d", i)})
	}
	require.Eventually(t, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.calls) >= 3
	}, 10*time.Second, 5*time.Millisecond, "tried until written")
	w.Add(messages.Message{Kind: "output", Message: "line 3"})
	require.NoError(t, w.Close())

	sink.mu.Lock()
	require.Equal(t, sink.calls[0], sink.calls[1], "the same batch again")
	require.Equal(t, sink.calls[0], sink.calls[2])
	sink.mu.Unlock()
	p, err := sink.List(t.Context(), "e1", "", 10)
	require.NoError(t, err)
	require.Len(t, p.Messages, 4, "each once")
	for i, m := range p.Messages {
		require.Equal(t, fmt.Sprintf("line %d", i), m.Message)
	}
}

func TestWriterReportsUnwritten(t *testing.T) {
	t.Parallel()
	sink := &flaky{Memory: messages.NewMemory(), fails: 1 << 30}
	w := messages.NewWriter(sink, "e1", 1, messages.WriterOptions{FlushEvery: time.Hour})
	w.Add(messages.Message{Kind: "output", Message: "lost"})
	require.ErrorContains(t, w.Close(), "1 messages not written: throttled")
}

// An unstorable message is reported and not tried again.
func TestWriterDropsWhatCannotBeStored(t *testing.T) {
	t.Parallel()
	sink := &flaky{Memory: messages.NewMemory()}
	w := messages.NewWriter(sink, "e1", 1, messages.WriterOptions{FlushEvery: time.Hour})
	w.Add(messages.Message{Kind: "output", Message: "year 10000", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	err := w.Close()
	require.ErrorIs(t, err, messages.ErrInvalid)
	require.NotContains(t, err.Error(), "not written")
	require.Len(t, sink.calls, 1, "not tried again")
}
