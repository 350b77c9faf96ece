package streampoll_test

import (
	"testing"

	"github.com/scaleout/scaleout/internal/stream/streampoll"
	"github.com/scaleout/scaleout/internal/stream/streampoll/checkpointtest"
)

// TestDynamoCheckpointsConformance runs the checkpoints suite against
// DynamoDB Local, every case on one table (the cases use streams of their
// own).
func TestDynamoCheckpointsConformance(t *testing.T) {
	t.Parallel()
	cp := streampoll.NewTestDynamoCheckpoints(t)
	checkpointtest.Run(t, func(*testing.T) streampoll.Checkpoints { return cp })
}
