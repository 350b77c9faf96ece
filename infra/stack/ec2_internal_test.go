package stack

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/ec2"
)

// TestUnitStopTimeoutIsFargates: systemd gives the worker as long to drain
// as ECS does (the unit is a checked-in file; the timeout a constant here).
func TestUnitStopTimeoutIsFargates(t *testing.T) {
	t.Parallel()
	var timeout time.Duration
	for _, line := range strings.Split(ec2.WorkerUnit, "\n") {
		if v, ok := strings.CutPrefix(line, "TimeoutStopSec="); ok {
			d, err := time.ParseDuration(v)
			require.NoError(t, err)
			timeout = d
		}
	}
	require.Equal(t, workerStopTimeout, timeout)
	require.Less(t, workerGrace, timeout)
}

func TestWriteFileKeepsContentVerbatim(t *testing.T) {
	t.Parallel()
	require.Equal(t, "cat > /etc/x <<'SCALEOUT_EOF'\na=$b `c`\nSCALEOUT_EOF", writeFile("/etc/x", "a=$b `c`\n"))
	require.Panics(t, func() { writeFile("/etc/x", "no newline") })
	require.Panics(t, func() { writeFile("/etc/x", "SCALEOUT_EOF\n") })
	require.NotPanics(t, func() { writeFile(ec2.UnitPath, ec2.WorkerUnit) })
}

func TestGravitonInstanceTypes(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"t4g.small", "m7g.large", "c7gn.xlarge", "r8g.metal-24xl", "m6gd.medium", "x2gd.large", "im4gn.large", "is4gen.large", "g5g.xlarge", "a1.large"} {
		require.True(t, graviton.MatchString(typ), typ)
	}
	for _, typ := range []string{"t3.small", "m7i.large", "c6a.large", "g4dn.xlarge", "inf2.xlarge", "m7g", "M7G.large", ""} {
		require.False(t, graviton.MatchString(typ), typ)
	}
}
