package tasktypes

import (
	"context"
	"errors"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// DefaultFailMessage is what a fail task says when it has no message.
const DefaultFailMessage = "failed by a fail task"

// Fail is the fail task type: it fails, on purpose, and is never retried
// (its error is task.ErrPermanent). Use it to stop a path of the control
// flow, e.g. after a check found bad data.
//
// Settings (with):
//
//	message  optional  the error's message; default "failed by a fail task"
//
// Output: none.
type Fail struct{}

func readFail(with map[string]any, check bool) (string, *settings) {
	s := newSettings(with, check, "message")
	msg, ok := s.str("message", "a string")
	if !ok || msg == "" {
		msg = DefaultFailMessage
	}
	return msg, s
}

// Check implements task.Type.
func (Fail) Check(with map[string]any) error {
	_, s := readFail(with, true)
	return s.err()
}

// Run implements task.Type.
func (Fail) Run(_ context.Context, in task.Input) (task.Output, error) {
	msg, s := readFail(in.With, false)
	if err := s.runErr(); err != nil {
		return nil, err
	}
	return nil, permanent(errors.New(msg))
}
