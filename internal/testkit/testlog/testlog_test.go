package testlog_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testlog"
)

func TestBufferTakesConcurrentWrites(t *testing.T) {
	t.Parallel()
	var b testlog.Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				_, _ = fmt.Fprintf(&b, "%d.%d\n", i, j)
				_ = b.String() // read while others write
			}
		})
	}
	wg.Wait()
	require.Len(t, strings.Split(strings.TrimSpace(b.String()), "\n"), 800)
}

// fakeTB records what is logged and the cleanups, which the test runs.
type fakeTB struct {
	testing.TB
	logged   []string
	cleanups []func()
}

func (f *fakeTB) Log(args ...any)   { f.logged = append(f.logged, fmt.Sprint(args...)) }
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// A logger on Writer logs each record with the test, one line each; what
// it gets after the test ended is dropped (t.Log would panic once the
// top-level test has completed).
func TestWriterLogsUntilTheTestEnds(t *testing.T) {
	t.Parallel()
	tb := &fakeTB{TB: t}
	log := slog.New(slog.NewTextHandler(testlog.Writer(tb), &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	log.Info("during the test", "n", 1)
	require.Equal(t, []string{`level=INFO msg="during the test" n=1`}, tb.logged)
	for _, fn := range tb.cleanups {
		fn()
	}
	log.Info("after the test")
	require.Len(t, tb.logged, 1)
}
