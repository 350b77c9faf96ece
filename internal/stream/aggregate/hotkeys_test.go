package aggregate

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/stream/streamgen"
)

// No partition key gets more than a few writes from one batch, however
// many workers, packages and folders the batch touches: each counter item
// is a partition of its own (one write a batch), and the buckets of an
// hour spread over BucketShards partitions.
func TestNoHotPartitionKey(t *testing.T) {
	t.Parallel()
	ups, err := Plan("", "shardId-1", streamgen.Wide(time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)), DefaultRetention)
	require.NoError(t, err)
	writes := PartitionWrites(ups)
	// 50 packages, 10 projects, 5 folders, ALL, 2 pools, 100 workers; 50
	// hour and 50 day buckets.
	require.Len(t, ups, 50+10+5+1+2+100+50+50)
	buckets := 0
	for pk, n := range writes {
		if strings.HasPrefix(pk, "HOUR#") || strings.HasPrefix(pk, "DAY#") {
			buckets += n
			// The packages hashed to one of the 32 partitions: a few.
			require.LessOrEqual(t, n, 5, "bucket partition %s", pk)
			continue
		}
		require.Equal(t, 1, n, "counter partition %s: one item, one write", pk)
	}
	require.Equal(t, 100, buckets)
	// Before the items had partitions of their own, this batch wrote 100
	// times to WORKERS, 50 to HOUR#2026-03-01T10 and 13 to each STATS#<folder>.
	t.Logf("%d partition keys, at most %d writes to one", len(writes), maxOf(writes))
}

func maxOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n = max(n, v)
	}
	return n
}
