package checkpointtest_test

import (
	"testing"

	"github.com/scaleout/scaleout/internal/stream/streampoll"
	"github.com/scaleout/scaleout/internal/stream/streampoll/checkpointtest"
)

// TestMemoryConformance holds the in-memory checkpoints to the suite; the
// DynamoDB adapter's run is in package streampoll, on the stand-in.
func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	checkpointtest.Run(t, func(*testing.T) streampoll.Checkpoints { return streampoll.NewMemoryCheckpoints() })
}
