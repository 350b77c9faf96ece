package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The unit runs scaleout dev with its data directory, and systemd's own
// check finds nothing to say about it, where systemd-analyze is installed.
func TestServiceUnit(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, "service", "unit", "--binary", "/bin/true", "--addr", "0.0.0.0:9090")
	require.NoError(t, err)
	require.Contains(t, out, "ExecStart=/bin/true dev --addr 0.0.0.0:9090 --data %S/scaleout/data")
	require.Contains(t, out, "EnvironmentFile=-/etc/scaleout/scaleout.env")
	require.Contains(t, out, "StateDirectory=scaleout")

	_, _, err = run(t, "service", "unit", "--binary", "relative/scaleout")
	require.ErrorContains(t, err, "give an absolute path")

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed here")
	}
	path := filepath.Join(t.TempDir(), "scaleout.service")
	require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
	verify, err := exec.Command(analyze, "verify", path).CombinedOutput()
	require.NoError(t, err, string(verify))
	require.Empty(t, strings.TrimSpace(string(verify)), "systemd-analyze verify")
}
