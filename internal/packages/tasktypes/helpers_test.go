package tasktypes

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/task"
)

type logLine struct{ stream, line string }

// fakeLog records what a task reports; tests read it while the task runs.
type fakeLog struct {
	mu    sync.Mutex
	lines []logLine
	warns []string
}

func (l *fakeLog) Output(stream, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, logLine{stream, line})
}

func (l *fakeLog) Warn(message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warns = append(l.warns, message)
}

func (l *fakeLog) Lines() []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

func (l *fakeLog) Warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.warns)
}

// input is one attempt's input with a recording log.
func input(with map[string]any) (task.Input, *fakeLog) {
	log := &fakeLog{}
	return task.Input{Task: "t", Attempt: 1, With: with, Log: log}, log
}

// checkCase is one Check table row: errs lists the texts the error must
// hold (none: Check passes).
type checkCase struct {
	name string
	with map[string]any
	errs []string
}

func runCheckCases(t *testing.T, typ task.Type, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := typ.Check(tc.with)
			if len(tc.errs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tc.errs {
				require.Contains(t, err.Error(), want)
			}
			// One line per problem.
			require.Len(t, strings.Split(err.Error(), "\n"), len(tc.errs), "%v", err)
		})
	}
}

// list is a []any, as decoded settings hold.
func list(v ...any) []any { return append([]any{}, v...) }

type obj = map[string]any

func errorsIsPermanent(err error) bool { return errors.Is(err, task.ErrPermanent) }
