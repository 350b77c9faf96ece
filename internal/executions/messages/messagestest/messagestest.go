package messagestest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/messages"
)

// Run runs the conformance suite; newLog returns the store under test for
// one case (cases run in parallel).
func Run(t *testing.T, newLog func(t *testing.T) messages.Log) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newLog(t))
		})
	}
}

var cases = []struct {
	name string
	run  func(t *testing.T, log messages.Log)
}{
	{"FieldsRoundTrip", fieldsRoundTrip},
	{"OrderAcrossAttempts", orderAcrossAttempts},
	{"Paging", paging},
	{"Limits", limits},
	{"BadCursor", badCursor},
	{"LongMessagesAreCut", longMessagesAreCut},
	{"PerExecution", perExecution},
	{"BatchWrittenAgainIsListedOnce", batchWrittenAgain},
	{"ConcurrentWrites", concurrentWrites},
	{"WriterOnThePort", writerOnThePort},
}

// base is a time with nanoseconds, in UTC as a Writer stamps messages.
var base = time.Date(2026, 11, 24, 21, 26, 48, 692_123_456, time.UTC)

// batch is n output messages of an attempt, numbered from first.
func batch(id string, attempt, first, n int) []messages.Message {
	msgs := make([]messages.Message, n)
	for i := range msgs {
		seq := first + i
		msgs[i] = messages.Message{ExecutionID: id, Attempt: attempt, Seq: seq, Time: base.Add(time.Duration(seq) * time.Millisecond),
			Kind: "output", Task: "main", Stream: "stdout", Message: fmt.Sprintf("attempt %d line %d", attempt, seq)}
	}
	return msgs
}

// listAll pages through an execution's messages, size at a time.
func listAll(t *testing.T, log messages.Log, id string, size int) []messages.Message {
	t.Helper()
	var all []messages.Message
	cursor := ""
	for range 10_000 {
		p, err := log.List(t.Context(), id, cursor, size)
		require.NoError(t, err)
		require.NotNil(t, p.Messages, "a page's messages are a list, even an empty one")
		require.LessOrEqual(t, len(p.Messages), size)
		if len(p.Messages) == 0 {
			require.Equal(t, cursor, p.Next, "an empty page keeps the cursor, for tailing")
			return all
		}
		all = append(all, p.Messages...)
		cursor = p.Next
	}
	t.Fatal("paging did not end")
	return nil
}

func keys(msgs []messages.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprintf("%d.%d", m.Attempt, m.Seq)
	}
	return out
}

func fieldsRoundTrip(t *testing.T, log messages.Log) {
	id := uuid.NewString()
	in := []messages.Message{
		{ExecutionID: id, Attempt: 1, Seq: 1, Time: base, Kind: "package_started"},
		{ExecutionID: id, Attempt: 1, Seq: 2, Time: base.Add(time.Millisecond), Kind: "task_ended", Task: "load",
			Status: "succeeded", Stream: "stderr", Message: "done ✔", DurationMS: 1234},
	}
	require.NoError(t, log.Write(t.Context(), in))
	p, err := log.List(t.Context(), id, "", 10)
	require.NoError(t, err)
	require.Equal(t, in, p.Messages, "every field comes back as written")
	require.Equal(t, "1.2", p.Next, "the cursor names the last message: attempt.seq")

	// A time as JSON keeps: its instant and offset, not its zone's name
	// nor its monotonic reading.
	now := time.Now().In(time.FixedZone("CET", 3600))
	require.NoError(t, log.Write(t.Context(), []messages.Message{{ExecutionID: id, Attempt: 1, Seq: 3, Time: now, Kind: "output"}}))
	p, err = log.List(t.Context(), id, p.Next, 10)
	require.NoError(t, err)
	require.Len(t, p.Messages, 1)
	j, err := json.Marshal(now)
	require.NoError(t, err)
	var want time.Time
	require.NoError(t, json.Unmarshal(j, &want))
	require.Equal(t, want, p.Messages[0].Time)
}

func orderAcrossAttempts(t *testing.T, log messages.Log) {
	id := uuid.NewString()
	ctx := t.Context()
	// Written out of order: attempt 2 first, attempt 1's later lines first.
	require.NoError(t, log.Write(ctx, batch(id, 2, 1, 3)))
	require.NoError(t, log.Write(ctx, batch(id, 1, 4, 3)))
	require.NoError(t, log.Write(ctx, batch(id, 1, 1, 3)))
	require.NoError(t, log.Write(ctx, batch(id, 10, 1, 1)))
	got := listAll(t, log, id, 100)
	require.Equal(t, []string{"1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.1", "2.2", "2.3", "10.1"}, keys(got),
		"by attempt, then sequence number (attempt 10 after 2)")
	for _, m := range got {
		require.Equal(t, id, m.ExecutionID)
	}
}

func paging(t *testing.T, log messages.Log) {
	id := uuid.NewString()
	ctx := t.Context()
	require.NoError(t, log.Write(ctx, batch(id, 1, 1, 12)))
	require.NoError(t, log.Write(ctx, batch(id, 2, 1, 13)))
	want := keys(listAll(t, log, id, 1000))
	require.Len(t, want, 25)
	for _, size := range []int{1, 7, 10, 25, 26} {
		require.Equal(t, want, keys(listAll(t, log, id, size)), "pages of %d: no gap, no repeat", size)
	}

	p, err := log.List(ctx, id, "", 10)
	require.NoError(t, err)
	require.Equal(t, "1.10", p.Next)
	p, err = log.List(ctx, id, p.Next, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"1.11", "1.12", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8"}, keys(p.Messages))

	// Tailing: an empty page at the end, then what was written since.
	end, err := log.List(ctx, id, "2.13", 10)
	require.NoError(t, err)
	require.Empty(t, end.Messages)
	require.Equal(t, "2.13", end.Next)
	require.NoError(t, log.Write(ctx, batch(id, 2, 14, 2)))
	p, err = log.List(ctx, id, end.Next, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"2.14", "2.15"}, keys(p.Messages))

	// A cursor between messages (a later attempt's) starts after it.
	p, err = log.List(ctx, id, "1.999", 2)
	require.NoError(t, err)
	require.Equal(t, []string{"2.1", "2.2"}, keys(p.Messages))
}

func limits(t *testing.T, log messages.Log) {
	id := uuid.NewString()
	const n = messages.MaxPage + 5
	require.NoError(t, log.Write(t.Context(), batch(id, 1, 1, n)))
	for _, limit := range []int{0, -1, messages.MaxPage + 1, 1 << 20} {
		p, err := log.List(t.Context(), id, "", limit)
		require.NoError(t, err)
		require.Len(t, p.Messages, messages.MaxPage, "limit %d means at most MaxPage", limit)
	}
	p, err := log.List(t.Context(), id, "", 3)
	require.NoError(t, err)
	require.Len(t, p.Messages, 3)
}

func badCursor(t *testing.T, log messages.Log) {
	id := uuid.NewString()
	require.NoError(t, log.Write(t.Context(), batch(id, 1, 1, 1)))
	for _, c := range []string{"bogus", "1", "1.", ".1", "1.x", "-1.2", "1.-2", "10000.1", "1.1000000000"} {
		_, err := log.List(t.Context(), id, c, 10)
		require.ErrorIs(t, err, messages.ErrBadCursor, "cursor %q", c)
	}
}

func longMessagesAreCut(t *testing.T, log messages.Log) {
	id := uuid.NewString()
	exact := strings.Repeat("a", messages.MaxMessageBytes)
	in := []messages.Message{
		{ExecutionID: id, Attempt: 1, Seq: 1, Time: base, Kind: "output", Message: strings.Repeat("x", messages.MaxMessageBytes+10)},
		{ExecutionID: id, Attempt: 1, Seq: 2, Time: base, Kind: "output", Message: strings.Repeat("é", messages.MaxMessageBytes)},
		{ExecutionID: id, Attempt: 1, Seq: 3, Time: base, Kind: "output", Message: exact},
		{ExecutionID: id, Attempt: 1, Seq: 4, Time: base, Kind: "output", Message: strings.Repeat("z", 300_000)},
	}
	require.NoError(t, log.Write(t.Context(), in))
	got := listAll(t, log, id, 10)
	require.Len(t, got, 4)
	for _, i := range []int{0, 1, 3} {
		m := got[i].Message
		require.True(t, strings.HasSuffix(m, "… (cut)"), "message %d ends with the marker", i+1)
		require.LessOrEqual(t, len(m), messages.MaxMessageBytes, "the marker fits within the cap")
		require.Greater(t, len(m), messages.MaxMessageBytes-len("… (cut)")-2, "only what is over is cut")
		require.True(t, utf8.ValidString(m), "cut on a character boundary")
		require.True(t, strings.HasPrefix(in[i].Message, strings.TrimSuffix(m, "… (cut)")), "the start is kept")
	}
	require.Equal(t, exact, got[2].Message, "a text of exactly MaxMessageBytes is kept whole")
	require.Equal(t, strings.Repeat("x", messages.MaxMessageBytes+10), in[0].Message, "the caller's messages are left alone")
}

func perExecution(t *testing.T, log messages.Log) {
	a, b := uuid.NewString(), uuid.NewString()
	require.NoError(t, log.Write(t.Context(), batch(a, 1, 1, 3)))
	require.NoError(t, log.Write(t.Context(), batch(b, 1, 1, 2)))
	require.Len(t, listAll(t, log, a, 10), 3)
	require.Len(t, listAll(t, log, b, 10), 2)
	p, err := log.List(t.Context(), uuid.NewString(), "", 10)
	require.NoError(t, err)
	require.NotNil(t, p.Messages)
	require.Empty(t, p.Messages, "an execution with no messages has an empty page")
	require.Empty(t, p.Next)
}

func batchWrittenAgain(t *testing.T, log messages.Log) {
	id := uuid.NewString()
	msgs := batch(id, 1, 1, 30)
	require.NoError(t, log.Write(t.Context(), msgs))
	require.NoError(t, log.Write(t.Context(), msgs), "a retried write")
	got := listAll(t, log, id, 100)
	require.Equal(t, keys(msgs), keys(got), "each message once")
}

func concurrentWrites(t *testing.T, log messages.Log) {
	const executions, batches, per = 4, 5, 6
	ids := make([]string, executions)
	var wg sync.WaitGroup
	errs := make(chan error, executions*batches)
	for e := range ids {
		ids[e] = uuid.NewString()
		wg.Go(func() {
			for b := range batches {
				errs <- log.Write(t.Context(), batch(ids[e], 1, 1+b*per, per))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, id := range ids {
		got := listAll(t, log, id, 7)
		require.Len(t, got, batches*per)
		for i, m := range got {
			require.Equal(t, i+1, m.Seq)
		}
	}
}

func writerOnThePort(t *testing.T, log messages.Log) {
	id := uuid.NewString()
	w := messages.NewWriter(log, id, 2, messages.WriterOptions{FlushEvery: 20 * time.Millisecond})
	before := time.Now()
	for i := range 50 {
		w.Add(messages.Message{Kind: "output", Stream: "stdout", Message: fmt.Sprintf("line %d", i)})
	}
	w.Add(messages.Message{Kind: "warning", Message: strings.Repeat("w", 2*messages.MaxMessageBytes)})
	require.NoError(t, w.Close())
	got := listAll(t, log, id, 1000)
	require.Len(t, got, 51)
	for i, m := range got[:50] {
		require.Equal(t, fmt.Sprintf("line %d", i), m.Message)
		require.Equal(t, 2, m.Attempt)
		require.Equal(t, i+1, m.Seq, "the writer numbers its messages")
		require.Equal(t, id, m.ExecutionID)
		require.WithinRange(t, m.Time, before.Add(-time.Second), time.Now().Add(time.Second), "and stamps them")
	}
	require.True(t, strings.HasSuffix(got[50].Message, "… (cut)"))
}
