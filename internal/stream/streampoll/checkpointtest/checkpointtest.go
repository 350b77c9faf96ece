package checkpointtest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/stream/streampoll"
)

// Run runs the conformance suite; newCheckpoints returns the adapter under
// test for one case (cases run in parallel).
func Run(t *testing.T, newCheckpoints func(t *testing.T) streampoll.Checkpoints) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newCheckpoints(t))
		})
	}
}

var cases = []struct {
	name string
	run  func(t *testing.T, cp streampoll.Checkpoints)
}{
	{"NoneYet", noneYet},
	{"PutThenGet", putThenGet},
	{"PutReplaces", putReplaces},
	{"PerStreamAndShard", perStreamAndShard},
	{"ConcurrentShards", concurrentShards},
	{"HonoursContext", honoursContext},
}

// streamARN is a stream ARN no other case uses.
func streamARN() string {
	return "arn:aws:dynamodb:us-east-1:000000000000:table/executions/stream/" + uuid.NewString()
}

func requireSeq(t *testing.T, cp streampoll.Checkpoints, arn, shard, want string) {
	t.Helper()
	seq, ok, err := cp.Get(t.Context(), arn, shard)
	require.NoError(t, err)
	require.True(t, ok, "shard %s has a checkpoint", shard)
	require.Equal(t, want, seq)
}

func noneYet(t *testing.T, cp streampoll.Checkpoints) {
	seq, ok, err := cp.Get(t.Context(), streamARN(), "shardId-000001")
	require.NoError(t, err)
	require.False(t, ok, "no checkpoint yet")
	require.Empty(t, seq)
}

func putThenGet(t *testing.T, cp streampoll.Checkpoints) {
	arn := streamARN()
	require.NoError(t, cp.Put(t.Context(), arn, "shardId-000001", "000000000000000000010"))
	requireSeq(t, cp, arn, "shardId-000001", "000000000000000000010")
}

func putReplaces(t *testing.T, cp streampoll.Checkpoints) {
	arn := streamARN()
	require.NoError(t, cp.Put(t.Context(), arn, "shardId-000001", "000000000000000000020"))
	require.NoError(t, cp.Put(t.Context(), arn, "shardId-000001", "000000000000000000030"))
	requireSeq(t, cp, arn, "shardId-000001", "000000000000000000030")
	// A checkpoint is what was put last, not the highest: the poller only
	// moves forward, and the store does not second-guess it.
	require.NoError(t, cp.Put(t.Context(), arn, "shardId-000001", "000000000000000000025"))
	requireSeq(t, cp, arn, "shardId-000001", "000000000000000000025")
}

func perStreamAndShard(t *testing.T, cp streampoll.Checkpoints) {
	arn, other := streamARN(), streamARN()
	require.NoError(t, cp.Put(t.Context(), arn, "shardId-000001", "000000000000000000010"))
	require.NoError(t, cp.Put(t.Context(), other, "shardId-000002", "000000000000000000020"))
	for _, k := range []struct{ arn, shard string }{{arn, "shardId-000002"}, {other, "shardId-000001"}} {
		_, ok, err := cp.Get(t.Context(), k.arn, k.shard)
		require.NoError(t, err)
		require.False(t, ok, "checkpoints are per stream and shard: %v", k)
	}
	requireSeq(t, cp, arn, "shardId-000001", "000000000000000000010")
	requireSeq(t, cp, other, "shardId-000002", "000000000000000000020")
}

func concurrentShards(t *testing.T, cp streampoll.Checkpoints) {
	arn := streamARN()
	const shards, puts = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, shards*puts)
	for s := range shards {
		wg.Go(func() {
			for i := range puts {
				errs <- cp.Put(t.Context(), arn, fmt.Sprintf("shardId-%06d", s), fmt.Sprintf("%021d", i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for s := range shards {
		requireSeq(t, cp, arn, fmt.Sprintf("shardId-%06d", s), fmt.Sprintf("%021d", puts-1))
	}
}

func honoursContext(t *testing.T, cp streampoll.Checkpoints) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	arn := streamARN()
	require.ErrorIs(t, cp.Put(ctx, arn, "shardId-000001", "000000000000000000010"), context.Canceled)
	_, _, err := cp.Get(ctx, arn, "shardId-000001")
	require.ErrorIs(t, err, context.Canceled)
	_, ok, err := cp.Get(t.Context(), arn, "shardId-000001")
	require.NoError(t, err)
	require.False(t, ok, "a Put whose context was done wrote nothing")
}
