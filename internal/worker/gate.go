package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// watchCapacity samples the machine's load every SampleInterval.
func (w *Worker) watchCapacity(ctx context.Context) {
	t := time.NewTicker(w.cfg.SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.sample()
		}
	}
}

func (w *Worker) sample() {
	u, err := w.cfg.Sampler.Sample()
	if err != nil && !w.sampleErrLogged {
		w.sampleErrLogged = true // only one goroutine at a time samples
		w.log.Warn("cannot measure the machine's load; unknown values do not hold work back", "error", err)
	}
	cpu := u.CPUKnown && u.CPUPercent > w.cfg.MaxCPU
	mem := u.MemoryKnown && w.cfg.MinFreeMemory > 0 && u.FreeMemory < uint64(w.cfg.MinFreeMemory)
	before := w.gate.reason()
	w.gate.set(nil, func(g *gate) { g.cpuBusy, g.memoryLow = cpu, mem })
	if after := w.gate.reason(); after != before {
		logGate(w.log, before, after, "cpu_percent", u.CPUPercent, "max_cpu_percent", w.cfg.MaxCPU,
			"free_memory_mb", u.FreeMemory>>20, "min_free_memory_mb", w.cfg.MinFreeMemory>>20)
	}
}

func logGate(log *slog.Logger, before, after string, args ...any) {
	switch {
	case after == "":
		log.Info("taking new work again", append([]any{"was", before}, args...)...)
	case before == "":
		log.Info("holding back new work", append([]any{"reason", after}, args...)...)
	default:
		log.Info("still holding back new work", append([]any{"reason", after, "was", before}, args...)...)
	}
}

// gate holds the receive loops back while the worker may not take work.
type gate struct {
	mu                                         sync.Mutex
	changed                                    chan struct{}
	unregistered, disabled, cpuBusy, memoryLow bool
}

// reason says why the worker holds back; "" when it takes work.
func (g *gate) reason() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reasonLocked()
}

func (g *gate) reasonLocked() string {
	switch {
	case g.unregistered:
		return "not registered yet"
	case g.disabled:
		return "disabled"
	case g.cpuBusy:
		return "cpu busy"
	case g.memoryLow:
		return "memory low"
	}
	return ""
}

// set changes the state, wakes the waiting loops when it opens or closes
// and, with a logger, logs the change.
func (g *gate) set(log *slog.Logger, f func(*gate)) {
	g.mu.Lock()
	before := g.reasonLocked()
	f(g)
	after := g.reasonLocked()
	if (before == "") != (after == "") && g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
	g.mu.Unlock()
	if log != nil && before != after {
		logGate(log, before, after)
	}
}

// wait blocks until the worker may take work; false when ctx ended.
func (g *gate) wait(ctx context.Context) bool {
	for {
		g.mu.Lock()
		if g.reasonLocked() == "" {
			g.mu.Unlock()
			return true
		}
		if g.changed == nil {
			g.changed = make(chan struct{})
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
		case <-ch:
		}
	}
}
