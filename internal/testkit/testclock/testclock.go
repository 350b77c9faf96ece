// Package testclock is a clock that tests move by hand, for the stores
// and the conformance suites whose rules depend on the time (leases,
// heartbeats, retention): a test never sleeps to wait for it.
package testclock

import (
	"sync"
	"time"
)

// Clock is a clock moved by hand; it is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New starts a clock at now, to the millisecond.
func New() *Clock { return &Clock{t: time.Now().UTC().Truncate(time.Millisecond)} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
