package ec2_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/ec2"
)

// TestUnitNamesItsFiles: the unit runs the binary and reads the
// environment file where the user data puts them, and stops the worker the
// way its drain expects.
func TestUnitNamesItsFiles(t *testing.T) {
	t.Parallel()
	lines := strings.Split(ec2.WorkerUnit, "\n")
	for _, want := range []string{
		"ExecStart=" + ec2.BinaryPath,
		"EnvironmentFile=" + ec2.EnvironmentFile,
		"Restart=always",
		"KillSignal=SIGTERM",
		"KillMode=mixed",
		"WantedBy=multi-user.target",
	} {
		require.Contains(t, lines, want)
	}
	require.True(t, strings.HasSuffix(ec2.UnitPath, "/scaleout-worker.service"))
}
