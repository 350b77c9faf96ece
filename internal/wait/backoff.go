package wait

import "time"

// Backoff is the wait before retry number n (1 for the first): base
// doubled for each retry after the first, base·2^(n-1), at most max (no
// cap when max <= 0). It is 0 when base <= 0. Every exponential backoff in
// Scaleout is this one: the worker's between attempts, the engine's
// between a task's tries, the stream poller's after a failed read.
func Backoff(base, max time.Duration, n int) time.Duration {
	if base <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n; i++ {
		d *= 2
		if max > 0 && d >= max {
			return max
		}
	}
	if max > 0 && d > max {
		return max
	}
	return d
}
