package workers_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/workers"
)

func write(t *testing.T, root, name, body string) {
	t.Helper()
	p := filepath.Join(root, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}

const meminfo = "MemTotal:        8000000 kB\nMemFree:          100000 kB\nMemAvailable:    2048000 kB\nCached: 5 kB\n"

func TestProcSampler(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := &workers.ProcSampler{Root: root}

	// No /proc: unknown, no error (non-Linux systems).
	u, err := s.Sample()
	require.NoError(t, err)
	require.Equal(t, workers.Usage{}, u)

	// user nice system idle iowait irq softirq steal guest guest_nice
	write(t, root, "proc/stat", "cpu  100 0 100 700 100 0 0 0 50 0\ncpu0 1 2 3 4\n")
	write(t, root, "proc/meminfo", meminfo)
	u, err = s.Sample()
	require.NoError(t, err)
	require.False(t, u.CPUKnown, "the first reading only primes")
	require.True(t, u.MemoryKnown)
	require.Equal(t, uint64(2048000*1024), u.FreeMemory)

	// +300 busy, +100 idle since: 75 % busy.
	write(t, root, "proc/stat", "cpu  300 0 200 750 150 0 0 0 50 0\n")
	u, err = s.Sample()
	require.NoError(t, err)
	require.True(t, u.CPUKnown)
	require.InDelta(t, 75.0, u.CPUPercent, 0.001)

	// A cgroup v2 limit lowers free memory to its headroom, counting the
	// inactive page cache as free.
	write(t, root, "sys/fs/cgroup/memory.max", "536870912\n")                              // 512 MiB
	write(t, root, "sys/fs/cgroup/memory.current", "503316480\n")                          // 480 MiB
	write(t, root, "sys/fs/cgroup/memory.stat", "inactive_file 16777216\nactive_file 1\n") // 16 MiB
	u, err = s.Sample()
	require.NoError(t, err)
	require.Equal(t, uint64(48<<20), u.FreeMemory)
	write(t, root, "sys/fs/cgroup/memory.max", "max\n")
	u, err = s.Sample()
	require.NoError(t, err)
	require.Equal(t, uint64(2048000*1024), u.FreeMemory)

	write(t, root, "proc/stat", "intr 1 2\n")
	_, err = s.Sample()
	require.ErrorContains(t, err, "/proc/stat: unexpected first line")
}

func TestProcSamplerOnThisMachine(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc here")
	}
	s := workers.NewProcSampler()
	u, err := s.Sample()
	require.NoError(t, err)
	require.True(t, u.MemoryKnown)
	require.Positive(t, u.FreeMemory)
	if u.CPUKnown {
		require.GreaterOrEqual(t, u.CPUPercent, 0.0)
		require.LessOrEqual(t, u.CPUPercent, 100.0)
	}
}
