package streampoll

import (
	"context"
	"fmt"
	"sync"
)

// MemoryCheckpoints keeps checkpoints in memory, for tests and for a poller
// that may start again from the stream's oldest records each time. It is
// safe for concurrent use and passes the same conformance suite
// (streampoll/checkpointtest) as DynamoCheckpoints.
type MemoryCheckpoints struct {
	mu  sync.Mutex
	seq map[[2]string]string
}

var _ Checkpoints = (*MemoryCheckpoints)(nil)

// NewMemoryCheckpoints returns checkpoints with none recorded.
func NewMemoryCheckpoints() *MemoryCheckpoints {
	return &MemoryCheckpoints{seq: map[[2]string]string{}}
}

// Get returns the checkpoint of a shard.
func (c *MemoryCheckpoints) Get(ctx context.Context, streamARN, shardID string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, fmt.Errorf("read checkpoint of shard %s: %w", shardID, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seq, ok := c.seq[[2]string{streamARN, shardID}]
	return seq, ok, nil
}

// Put records the checkpoint of a shard, replacing the previous one.
func (c *MemoryCheckpoints) Put(ctx context.Context, streamARN, shardID, seq string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write checkpoint %s of shard %s: %w", seq, shardID, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq[[2]string{streamARN, shardID}] = seq
	return nil
}
