package dataflow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ErrMemoryLimit is matched by the errors of a Reserve that cannot be
// met within memory_limit.
var ErrMemoryLimit = errors.New("over the dataflow's memory_limit")

// budget is the flow's Budget: a counter of reserved bytes with waiters.
type budget struct {
	limit   int64
	mu      sync.Mutex
	used    int64
	peak    int64
	changed chan struct{} // closed and replaced on every Release
}

func newBudget(limit int64) *budget {
	return &budget{limit: limit, changed: make(chan struct{})}
}

func (b *budget) Limit() int64 { return b.limit }

func (b *budget) Reserve(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	if n > b.limit {
		return fmt.Errorf("%w: %d bytes asked at once, memory_limit is %d: raise memory_limit", ErrMemoryLimit, n, b.limit)
	}
	for {
		b.mu.Lock()
		if b.used+n <= b.limit {
			b.take(n)
			b.mu.Unlock()
			return nil
		}
		wait := b.changed
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for %d bytes: %w", ErrMemoryLimit, n, ctx.Err())
		}
	}
}

func (b *budget) TryReserve(n int64) bool {
	if n <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.take(n)
	return true
}

func (b *budget) take(n int64) {
	b.used += n
	b.peak = max(b.peak, b.used)
}

func (b *budget) Release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used = max(b.used-n, 0)
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// Used is the bytes reserved now.
func (b *budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Peak is the most bytes reserved at once.
func (b *budget) Peak() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}

// countingAllocator counts the bytes its base allocator holds and their
// peak.
type countingAllocator struct {
	base memory.Allocator
	cur  atomic.Int64
	peak atomic.Int64
}

func newCountingAllocator(base memory.Allocator) *countingAllocator {
	if base == nil {
		base = memory.NewGoAllocator()
	}
	return &countingAllocator{base: base}
}

func (a *countingAllocator) add(n int64) {
	c := a.cur.Add(n)
	for {
		p := a.peak.Load()
		if c <= p || a.peak.CompareAndSwap(p, c) {
			return
		}
	}
}

func (a *countingAllocator) Allocate(size int) []byte {
	b := a.base.Allocate(size)
	a.add(int64(len(b)))
	return b
}

func (a *countingAllocator) Reallocate(size int, b []byte) []byte {
	old := len(b)
	nb := a.base.Reallocate(size, b)
	a.add(int64(len(nb) - old))
	return nb
}

func (a *countingAllocator) Free(b []byte) {
	a.add(-int64(len(b)))
	a.base.Free(b)
}

// Peak is the most bytes held at once.
func (a *countingAllocator) Peak() int64 { return a.peak.Load() }

// Current is the bytes held now.
func (a *countingAllocator) Current() int64 { return a.cur.Load() }
