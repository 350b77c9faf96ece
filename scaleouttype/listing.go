package scaleouttype

import (
	"errors"
	"time"
)

// ExecutionFilter selects executions to list. Empty fields match everything.
type ExecutionFilter struct {
	Folder, Project, Package string
	Status                   Status
	// Since and Until bound the creation time (inclusive); zero means open.
	// When the listing goes by day (no folder or package, and no status or
	// a final one), Until defaults to now and Since to 30 days before the
	// earlier of Until and now (a far-future Until lists the last 30 days).
	Since, Until time.Time
	// Limit is the page size (1-1000, default 100).
	Limit int
	// Cursor continues a previous page.
	Cursor string
}

// ExecutionPage is one page of executions, newest first.
type ExecutionPage struct {
	Executions []Execution `json:"executions"`
	// Next continues the listing; empty on the last page. A page can be
	// shorter than the limit and still have a Next: each call reads a
	// bounded number of index pages.
	Next string `json:"next,omitempty"`
}

// Message is one event of an execution.
type Message struct {
	ExecutionID string    `json:"-"`
	Attempt     int       `json:"attempt"`
	Seq         int       `json:"seq"`
	Time        time.Time `json:"time"`
	Kind        string    `json:"kind"`
	Task        string    `json:"task,omitempty"`
	Status      string    `json:"status,omitempty"`
	Stream      string    `json:"stream,omitempty"`
	Message     string    `json:"message,omitempty"`
	DurationMS  int64     `json:"duration_ms,omitempty"`
}

// MessagePage is one page of messages.
type MessagePage struct {
	Messages []Message `json:"messages"`
	// Next is the cursor of the next page; empty at the end (so far: a
	// running execution may add more, tail by asking again with the cursor).
	Next string `json:"next,omitempty"`
}

// Idempotency records which execution a caller's Idempotency-Key made.
type Idempotency struct {
	// Scope separates callers (the principal's name): keys are theirs.
	Scope string
	Key   string
	// Hash identifies the request body; the same key with another body is
	// a conflict.
	Hash string
	// TTL is how long the key is remembered (default 24 h).
	TTL time.Duration
}

// ErrIdempotencyMismatch is returned when an idempotency key is reused with
// another request body.
var ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")

// ErrBadCursor is returned for a cursor that no previous page of this
// listing made.
var ErrBadCursor = errors.New("not a cursor from a previous page of this listing")
