package wait

import (
	"context"
	"time"
)

// For waits d, or until ctx ends, whichever is first. It returns ctx's
// error when ctx ended (also when d <= 0 and ctx has ended), nil otherwise.
func For(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
