package task_test

import (
	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// A run's connection.Set is what tasks get as their Connections.
var _ task.Connections = (*connection.Set)(nil)
