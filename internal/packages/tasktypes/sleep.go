package tasktypes

import (
	"context"
	"time"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// Sleep is the sleep task type: it waits.
//
// Settings (with):
//
//	duration  required  how long to wait, e.g. "30s" or "5m"; "0s" does not wait
//
// Output: an empty object. Cancelling stops the wait at once, and Run
// returns ctx.Err().
type Sleep struct{}

func readSleep(with map[string]any, check bool) (time.Duration, *settings) {
	s := newSettings(with, check, "duration")
	if _, ok := s.get("duration"); !ok {
		s.missing("duration", `how long to wait, e.g. "30s" or "5m"`)
	}
	d, _ := s.duration("duration", true)
	return d, s
}

// Check implements task.Type.
func (Sleep) Check(with map[string]any) error {
	_, s := readSleep(with, true)
	return s.err()
}

// Run implements task.Type.
func (Sleep) Run(ctx context.Context, in task.Input) (task.Output, error) {
	d, s := readSleep(in.With, false)
	if err := s.runErr(); err != nil {
		return nil, err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return task.Output{}, nil
	}
}
