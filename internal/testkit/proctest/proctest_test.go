package proctest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAlive(t *testing.T) {
	t.Parallel()
	require.True(t, Alive(os.Getpid()))
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	pid := cmd.Process.Pid
	require.True(t, Alive(pid))
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.False(t, Alive(pid), "killed and reaped")
	require.False(t, Alive(1<<30), "no such process")
}
