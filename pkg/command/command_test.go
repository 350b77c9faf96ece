package command

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
		return !alive(child)
	}, time.Second, 10*time.Millisecond, "child %d still alive", child)
}

// alive reports whether pid runs; a zombie (killed, not yet reaped by
// its new parent) does not count.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) == syscall.ESRCH {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
