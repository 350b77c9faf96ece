package engine

import (
	"slices"
	"sync"
	"time"
)

// Kind says what an Event reports.
type Kind string

// Event kinds.
const (
	PackageStarted Kind = "package_started"
	PackageEnded   Kind = "package_ended"
	TaskStarted    Kind = "task_started"
	TaskEnded      Kind = "task_ended"
	TaskSkipped    Kind = "task_skipped"
	// TaskRetry comes before a retried attempt: Attempt is the attempt about
	// to start, Duration the backoff waited first, Message why the previous
	// attempt failed.
	TaskRetry Kind = "task_retry"
	// Output is one line a task wrote (Stream "stdout", "stderr" or "").
	Output  Kind = "output"
	Warning Kind = "warning"
	// Error is one failed attempt of a task, or a task that failed without
	// running (a `when` that could not be evaluated).
	Error Kind = "error"
)

// Event is one thing that happened while a package ran. Every string in it
// has been through the run's redactor.
type Event struct {
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Task is the task's path: "load", "per-region[eu]/load"; empty for
	// package events.
	Task    string `json:"task,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	// Status is set on task_ended, task_skipped and package_ended.
	Status Status `json:"status,omitempty"`
	// Duration is set on task_ended and package_ended (how long it ran) and
	// on task_retry (the backoff).
	Duration time.Duration `json:"duration,omitempty"`
	Stream   string        `json:"stream,omitempty"`
	// Message is the output line, the warning, the error, or the reason a
	// task was skipped.
	Message string `json:"message,omitempty"`
}

// EventSink receives a run's events. The engine never calls Emit from two
// goroutines at once and never after package_ended, so a sink needs no
// locking of its own for that; Emit must be cheap (batch, don't block on a
// network call), since the engine holds a lock while it runs.
//
// Order: package_started comes first and package_ended last; a task's
// task_started comes before its output, warning, error and task_retry
// events, which come before its task_ended.
type EventSink interface {
	Emit(Event)
}

// SinkFunc adapts a function to EventSink.
type SinkFunc func(Event)

// Emit calls f.
func (f SinkFunc) Emit(e Event) { f(e) }

// SliceSink keeps every event in memory; it is safe to read while the run
// goes on. For tests and small runs.
type SliceSink struct {
	mu     sync.Mutex
	events []Event
}

// Emit appends e.
func (s *SliceSink) Emit(e Event) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

// Events returns a copy of the events so far.
func (s *SliceSink) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// ChanSink sends every event on a channel. A send blocks the run until the
// reader takes it, so give the channel a buffer and keep reading until
// package_ended.
type ChanSink chan Event

// Emit sends e.
func (c ChanSink) Emit(e Event) { c <- e }

// discard drops events.
type discard struct{}

func (discard) Emit(Event) {}
