package dataflow

import (
	"context"
	"fmt"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// planEnv is what a run-time Plan sees of the run.
type planEnv struct {
	ctx   context.Context
	conns task.Connections
	dir   string
	// roots are params, vars and system for row expressions.
	roots map[string]any
}

func (e *planEnv) rootValues() map[string]any {
	if e == nil {
		return nil
	}
	return e.roots
}

// Errorf is a problem with the component as a whole (not one setting),
// to return from Plan or join with Settings.Err.
func (pc *PlanContext) Errorf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}
