package program

import (
	"github.com/scaleout/scaleout/internal/testkit/proctest"

	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		argv     []string
		code     int
		output   string
		truncate bool
		errText  string
	}{
		{name: "success", argv: []string{"sh", "-c", "echo hello; echo oops >&2"}, output: "hello\noops\n"},
		{name: "exit code", argv: []string{"sh", "-c", "exit 3"}, code: 3},
		{name: "tail kept", argv: []string{"sh", "-c", "head -c 20000 /dev/zero | tr '\\0' a; echo END"}, output: "END\n", truncate: true},
		{name: "missing program", argv: []string{"/no/such/program"}, code: -1, errText: `start "/no/such/program"`},
		{name: "empty", argv: nil, errText: "no program"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Run(context.Background(), tc.argv, Options{OutputCap: 1024})
			if tc.errText != "" {
				require.ErrorContains(t, err, tc.errText)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.code, res.ExitCode)
			require.True(t, strings.HasSuffix(res.Output, tc.output), "output %q", res.Output)
			require.Equal(t, tc.truncate, res.Truncated)
			require.LessOrEqual(t, len(res.Output), 1024)
		})
	}
}

// Cancelling kills the program and the children it started.
func TestRunCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, []string{"sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait"}, Options{})
		done <- err
	}()
	var child int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || len(b) == 0 || b[len(b)-1] != '\n' {
			return false
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	require.Eventually(t, func() bool {
		return !proctest.Alive(child)
	}, time.Second, 10*time.Millisecond, "child %d still alive", child)
}

type line struct{ stream, text string }

// recorder collects OnLine calls; the test reads them while Run runs.
type recorder struct {
	mu    sync.Mutex
	lines []line
}

func (r *recorder) add(stream, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line{stream, text})
}

func (r *recorder) get() []line {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

func TestRunOnLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		script    string
		maxLine   int
		cap       int
		stdout    []string
		stderr    []string
		tailOut   string
		tailErr   string
		truncated bool
	}{
		{name: "streams apart", script: `printf 'a\nb\n'; printf 'e1\n' >&2`,
			stdout: []string{"a", "b"}, stderr: []string{"e1"}, tailOut: "a\nb\n", tailErr: "e1\n"},
		{name: "crlf and last line without newline", script: `printf 'x\r\ny'`,
			stdout: []string{"x", "y"}, tailOut: "x\r\ny"},
		{name: "empty lines kept", script: `printf '\n\nz\n'`,
			stdout: []string{"", "", "z"}, tailOut: "\n\nz\n"},
		{name: "long line cut", script: `printf 'abcdefghij\n'`, maxLine: 4,
			stdout: []string{"abcd", "efgh", "ij"}, tailOut: "abcdefghij\n"},
		{name: "cut between characters", script: `printf 'a\303\251\342\202\254\n'`, maxLine: 4,
			stdout: []string{"aé", "€"}, tailOut: "aé€\n"},
		{name: "tail of each stream", script: `printf '0123456789\n'; printf 'err\n' >&2`, cap: 6,
			stdout: []string{"0123456789"}, stderr: []string{"err"}, tailOut: "56789\n", tailErr: "err\n", truncated: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			res, err := Run(context.Background(), []string{"sh", "-c", tc.script},
				Options{OnLine: rec.add, MaxLine: tc.maxLine, OutputCap: tc.cap})
			require.NoError(t, err)
			require.Equal(t, 0, res.ExitCode)
			var out, errs []string
			for _, l := range rec.get() {
				switch l.stream {
				case Stdout:
					out = append(out, l.text)
				case Stderr:
					errs = append(errs, l.text)
				default:
					t.Fatalf("stream %q", l.stream)
				}
			}
			require.Equal(t, tc.stdout, out)
			require.Equal(t, tc.stderr, errs)
			require.Equal(t, tc.tailOut, res.Stdout)
			require.Equal(t, tc.tailErr, res.Stderr)
			require.Equal(t, tc.truncated, res.StdoutTruncated)
			require.False(t, res.StderrTruncated)
		})
	}
}

// Lines arrive while the program still runs, not when it ends.
func TestRunOnLineStreamsAsWritten(t *testing.T) {
	t.Parallel()
	flag := filepath.Join(t.TempDir(), "go-on")
	rec := &recorder{}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), []string{"sh", "-c",
			"echo first; while [ ! -e " + flag + " ]; do sleep 0.01; done; echo second"},
			Options{OnLine: rec.add})
		done <- err
	}()
	require.Eventually(t, func() bool { return len(rec.get()) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []line{{Stdout, "first"}}, rec.get())
	require.NoError(t, os.WriteFile(flag, nil, 0o600))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	require.Equal(t, []line{{Stdout, "first"}, {Stdout, "second"}}, rec.get())
}

func TestRunEnds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		argv   []string
		dir    string
		code   int
		signal string
		notRun bool
	}{
		{name: "killed by a signal", argv: []string{"sh", "-c", "kill -TERM $$"}, code: -1, signal: "terminated"},
		{name: "not found", argv: []string{"/no/such/program"}, code: -1, notRun: true},
		{name: "no working directory", argv: []string{"true"}, dir: "/no/such/dir", code: -1, notRun: true},
		{name: "empty program", argv: []string{""}, code: -1, notRun: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Run(context.Background(), tc.argv, Options{Dir: tc.dir})
			if tc.notRun {
				require.ErrorIs(t, err, ErrNotStarted)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.code, res.ExitCode)
			require.Equal(t, tc.signal, res.Signal)
		})
	}
}

// What the program leaves running when it ends is killed, whether or not
// it still holds the output open.
func TestRunKillsLeftovers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		redirect string
	}{
		{name: "detached from output", redirect: " >/dev/null 2>&1"},
		{name: "holding output open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pidFile := filepath.Join(t.TempDir(), "child.pid")
			res, err := Run(context.Background(), []string{"sh", "-c",
				"sleep 60" + tc.redirect + " & echo $! > " + pidFile + "; echo bye"}, Options{OnLine: func(string, string) {}})
			require.NoError(t, err)
			require.Equal(t, 0, res.ExitCode)
			require.Equal(t, "bye\n", res.Stdout)
			b, err := os.ReadFile(pidFile)
			require.NoError(t, err)
			child, err := strconv.Atoi(strings.TrimSpace(string(b)))
			require.NoError(t, err)
			require.Eventually(t, func() bool { return !proctest.Alive(child) }, time.Second, 10*time.Millisecond,
				"child %d still alive", child)
		})
	}
}
