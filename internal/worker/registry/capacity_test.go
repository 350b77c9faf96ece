package registry_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/worker/registry"
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
	s := &registry.ProcSampler{Root: root}

	// No /proc: unknown, no error (non-Linux systems).
	u, err := s.Sample()
	require.NoError(t, err)
	require.Equal(t, registry.Usage{}, u)

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
	s := registry.NewProcSampler(0)
	u, err := s.Sample()
	require.NoError(t, err)
	require.True(t, u.MemoryKnown)
	require.Positive(t, u.FreeMemory)
	if u.CPUKnown {
		require.GreaterOrEqual(t, u.CPUPercent, 0.0)
		require.LessOrEqual(t, u.CPUPercent, 100.0)
	}
}

// A container's CPU use is measured against its cgroup's quota, not the
// host's CPUs: a 0.5 vCPU task using 0.45 CPU is 90 % busy (over the 70 %
// gate), while /proc/stat on a 2-CPU host says 22.5 %.
func TestProcSamplerCgroupQuota(t *testing.T) {
	t.Parallel()
	// The host: 2 CPUs, 1 s between readings (200 ticks), 45 ticks busy.
	hostBefore := "cpu  1000 0 0 9000 0 0 0 0 0 0\n"
	hostAfter := "cpu  1045 0 0 9155 0 0 0 0 0 0\n"
	for _, tc := range []struct {
		name          string
		files         map[string]string // at both readings
		before, after map[string]string // usage at each reading
		limit         float64
		want          float64
	}{
		{"cgroup v2 quota",
			map[string]string{"sys/fs/cgroup/cpu.max": "50000 100000\n"},
			map[string]string{"sys/fs/cgroup/cpu.stat": "usage_usec 7000000\nuser_usec 6000000\nsystem_usec 1000000\nnr_periods 10\n"},
			map[string]string{"sys/fs/cgroup/cpu.stat": "usage_usec 7450000\nuser_usec 6400000\nsystem_usec 1050000\nnr_periods 20\n"},
			0, 90},
		{"cgroup v1 quota (cpu,cpuacct joined)",
			map[string]string{"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
			map[string]string{"sys/fs/cgroup/cpu,cpuacct/cpuacct.usage": "7000000000\n"},
			map[string]string{"sys/fs/cgroup/cpu,cpuacct/cpuacct.usage": "7450000000\n"},
			0, 90},
		{"cgroup v1 quota (cpu and cpuacct apart)",
			map[string]string{"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "25000\n", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"},
			map[string]string{"sys/fs/cgroup/cpuacct/cpuacct.usage": "7000000000\n"},
			map[string]string{"sys/fs/cgroup/cpuacct/cpuacct.usage": "7200000000\n"},
			0, 80},
		{"no quota of its own, the task's limit (ECS)",
			map[string]string{"sys/fs/cgroup/cpu.max": "max 100000\n"},
			map[string]string{"sys/fs/cgroup/cpu.stat": "usage_usec 7000000\n"},
			map[string]string{"sys/fs/cgroup/cpu.stat": "usage_usec 7450000\n"},
			0.5, 90},
		{"v1 without quota, the task's limit (ECS)",
			map[string]string{"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
			map[string]string{"sys/fs/cgroup/cpu,cpuacct/cpuacct.usage": "7000000000\n"},
			map[string]string{"sys/fs/cgroup/cpu,cpuacct/cpuacct.usage": "7450000000\n"},
			0.5, 90},
		{"above the quota (throttling lags) counts as full",
			map[string]string{"sys/fs/cgroup/cpu.max": "50000 100000\n"},
			map[string]string{"sys/fs/cgroup/cpu.stat": "usage_usec 7000000\n"},
			map[string]string{"sys/fs/cgroup/cpu.stat": "usage_usec 7600000\n"},
			0, 100},
		{"no quota, no limit: the host's share",
			map[string]string{"sys/fs/cgroup/cpu.max": "max 100000\n"},
			map[string]string{"sys/fs/cgroup/cpu.stat": "usage_usec 7000000\n"},
			map[string]string{"sys/fs/cgroup/cpu.stat": "usage_usec 7450000\n"},
			0, 22.5},
		{"no cgroup files (an EC2 host under systemd): the host's share",
			nil, nil, nil, 0, 22.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			s := &registry.ProcSampler{Root: root, CPULimit: tc.limit, Now: func() time.Time { return now }}
			write(t, root, "proc/meminfo", meminfo)
			for name, body := range tc.files {
				write(t, root, name, body)
			}
			write(t, root, "proc/stat", hostBefore)
			for name, body := range tc.before {
				write(t, root, name, body)
			}
			u, err := s.Sample()
			require.NoError(t, err)
			require.False(t, u.CPUKnown, "the first reading only primes")

			now = now.Add(time.Second)
			write(t, root, "proc/stat", hostAfter)
			for name, body := range tc.after {
				write(t, root, name, body)
			}
			u, err = s.Sample()
			require.NoError(t, err)
			require.True(t, u.CPUKnown)
			require.InDelta(t, tc.want, u.CPUPercent, 0.01)
		})
	}
}

func TestProcSamplerCgroupErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := &registry.ProcSampler{Root: root}
	write(t, root, "proc/stat", "cpu  1 0 0 1 0 0 0 0 0 0\n")
	write(t, root, "sys/fs/cgroup/cpu.max", "half 100000\n")
	_, err := s.Sample()
	require.ErrorContains(t, err, `/sys/fs/cgroup/cpu.max: unexpected "half 100000"`)
}
