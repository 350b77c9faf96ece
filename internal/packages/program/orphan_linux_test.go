//go:build linux

package program

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/proctest"
)

// helperEnv makes the test binary the "worker" of TestProgramDiesWithItsStarter.
const helperEnv = "SCALEOUT_COMMAND_TEST_STARTER"

// A program outlives nothing: when the process that started it is killed
// with SIGKILL (a worker that crashed), the kernel kills the program too.
func TestProgramDiesWithItsStarter(t *testing.T) {
	if pidFile := os.Getenv(helperEnv); pidFile != "" {
		// The starter: run a long program that writes its pid, and wait.
		_, _ = Run(context.Background(), []string{"sh", "-c", "echo $$ > " + pidFile + "; exec sleep 60"}, Options{})
		return
	}
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "program.pid")
	starter := exec.Command(os.Args[0], "-test.run=^TestProgramDiesWithItsStarter$")
	starter.Env = append(os.Environ(), helperEnv+"="+pidFile)
	require.NoError(t, starter.Start())
	var program int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		program, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the starter's program never started")
	require.True(t, proctest.Alive(program))

	require.NoError(t, starter.Process.Signal(syscall.SIGKILL))
	_ = starter.Wait()
	require.Eventually(t, func() bool { return !proctest.Alive(program) }, 2*time.Second, 10*time.Millisecond,
		"program %d outlived the process that started it", program)
}
