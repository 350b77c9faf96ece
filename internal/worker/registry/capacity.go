package registry

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of a worker's capacity check (SSIS Scale Out's
// TaskRequestMaxCPU and TaskRequestMinMemory).
const (
	DefaultMaxCPU        = 70.0              // percent
	DefaultMinFreeMemory = 100 * 1024 * 1024 // bytes
)

// Usage is one reading of a machine's load. A value that could not be
// measured is unknown and does not hold a worker back.
type Usage struct {
	// CPUPercent is the share of all CPUs busy since the previous reading.
	CPUPercent float64
	CPUKnown   bool
	// FreeMemory is the memory available to new work, in bytes.
	FreeMemory  uint64
	MemoryKnown bool
}

// ProcSampler reads Linux's /proc/stat and /proc/meminfo and, inside a
// cgroup v2 container with a memory limit, that limit. On systems without
// them every reading is unknown.
//
// CPU use is measured against what the process may use: when its cgroup
// has a CPU quota (v2 cpu.max; v1 cpu.cfs_quota_us over cpu.cfs_period_us)
// or CPULimit is set, it is the cgroup's CPU time (v2 cpu.stat usage_usec;
// v1 cpuacct.usage) over the wall time times the quota in CPUs. A 0.5 vCPU
// Fargate task running flat out is then 100 % busy, where /proc/stat, the
// whole host's CPUs, would show it nearly idle. Without a quota it is the
// host's busy share from /proc/stat.
type ProcSampler struct {
	// Root is where proc and sys are mounted; default "/".
	Root string
	// CPULimit, in CPUs, is used when the cgroup shows no quota of its own
	// (on ECS the task's limit is on the task's cgroup, above the
	// container's: the task metadata's Limits.CPU). 0: none.
	CPULimit float64
	// Now defaults to time.Now.
	Now func() time.Time

	mu                sync.Mutex
	prevBusy, prevAll uint64
	prevMode          string
	primed            bool
}

// NewProcSampler returns a sampler primed with a first CPU reading, so
// that the first Sample measures the time since it was made. cpuLimit is
// ProcSampler.CPULimit.
func NewProcSampler(cpuLimit float64) *ProcSampler {
	s := &ProcSampler{CPULimit: cpuLimit}
	s.cpu() //nolint:errcheck // priming only
	return s
}

// Sample reads the load. A missing /proc is no error: the reading is
// unknown.
func (s *ProcSampler) Sample() (Usage, error) {
	var u Usage
	var errs []error
	pct, known, err := s.cpu()
	if err != nil {
		errs = append(errs, err)
	}
	u.CPUPercent, u.CPUKnown = pct, known
	free, known, err := s.memory()
	if err != nil {
		errs = append(errs, err)
	}
	u.FreeMemory, u.MemoryKnown = free, known
	return u, errors.Join(errs...)
}

func (s *ProcSampler) path(p string) string {
	root := s.Root
	if root == "" {
		root = "/"
	}
	return strings.TrimSuffix(root, "/") + "/" + p
}

func readOptional(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// cpu returns the busy share since the previous call; the first call
// only primes, as does a change between the cgroup and /proc/stat.
func (s *ProcSampler) cpu() (float64, bool, error) {
	mode, busy, all, err := s.cgroupCPU()
	if err != nil {
		return 0, false, err
	}
	if mode == "" {
		mode = "proc"
		var ok bool
		busy, all, ok, err = s.procCPU()
		if err != nil || !ok {
			return 0, false, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prevBusy, prevAll, primed := s.prevBusy, s.prevAll, s.primed && s.prevMode == mode
	s.prevBusy, s.prevAll, s.prevMode, s.primed = busy, all, mode, true
	if !primed || all <= prevAll || busy < prevBusy {
		return 0, false, nil
	}
	return min(100, 100*float64(busy-prevBusy)/float64(all-prevAll)), true, nil
}

// procCPU reads the host's busy and total time from /proc/stat.
func (s *ProcSampler) procCPU() (busy, all uint64, ok bool, err error) {
	b, ok, err := readOptional(s.path("proc/stat"))
	if err != nil || !ok {
		return 0, 0, false, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	// user nice system idle iowait irq softirq steal (guest is in user).
	var idle uint64
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, false, fmt.Errorf("/proc/stat: field %d %q: %w", i+1, f, err)
		}
		all += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	return all - idle, all, true, nil
}

// cgroupCPU reads the cgroup's CPU time and, as "all", the CPU time its
// quota allows since a fixed origin (wall time × CPUs), both in
// nanoseconds; mode "" when there is no quota or no usage to read.
func (s *ProcSampler) cgroupCPU() (mode string, used, allowed uint64, err error) {
	cpus, usage := 0.0, uint64(0)
	// cgroup v2: "<quota> <period>" or "max <period>"; usage_usec in cpu.stat.
	if b, ok, err := readOptional(s.path("sys/fs/cgroup/cpu.max")); err != nil {
		return "", 0, 0, err
	} else if ok {
		f := strings.Fields(string(b))
		if len(f) == 2 && f[0] != "max" {
			q, err1 := strconv.ParseFloat(f[0], 64)
			p, err2 := strconv.ParseFloat(f[1], 64)
			if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
				return "", 0, 0, fmt.Errorf("/sys/fs/cgroup/cpu.max: unexpected %q", strings.TrimSpace(string(b)))
			}
			cpus = q / p
		}
		st, ok, err := readOptional(s.path("sys/fs/cgroup/cpu.stat"))
		if err != nil || !ok {
			return "", 0, 0, err
		}
		found := false
		for line := range strings.Lines(string(st)) {
			if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
				n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				if err != nil {
					return "", 0, 0, fmt.Errorf("/sys/fs/cgroup/cpu.stat: usage_usec %q: %w", strings.TrimSpace(v), err)
				}
				usage, found = n*1000, true
			}
		}
		if !found {
			return "", 0, 0, nil
		}
		mode = "cgroup2"
	} else {
		// cgroup v1: the cpu and cpuacct controllers, apart or joined.
		for _, dir := range []string{"sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/cpu"} {
			qb, ok, err := readOptional(s.path(dir + "/cpu.cfs_quota_us"))
			if err != nil {
				return "", 0, 0, err
			}
			if !ok {
				continue
			}
			pb, _, err := readOptional(s.path(dir + "/cpu.cfs_period_us"))
			if err != nil {
				return "", 0, 0, err
			}
			q, err1 := strconv.ParseFloat(strings.TrimSpace(string(qb)), 64) // -1: none
			p, err2 := strconv.ParseFloat(strings.TrimSpace(string(pb)), 64)
			if err1 == nil && err2 == nil && q > 0 && p > 0 {
				cpus = q / p
			}
			break
		}
		for _, dir := range []string{"sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/cpuacct"} {
			ub, ok, err := readOptional(s.path(dir + "/cpuacct.usage"))
			if err != nil {
				return "", 0, 0, err
			}
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(strings.TrimSpace(string(ub)), 10, 64)
			if err != nil {
				return "", 0, 0, fmt.Errorf("/%s/cpuacct.usage: %w", dir, err)
			}
			usage, mode = n, "cgroup1"
			break
		}
		if mode == "" {
			return "", 0, 0, nil
		}
	}
	if cpus <= 0 {
		cpus = s.CPULimit
	}
	if cpus <= 0 {
		return "", 0, 0, nil
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return mode, usage, uint64(float64(now().UnixNano()) * cpus), nil
}

// memory returns MemAvailable, lowered to the cgroup's headroom when a
// cgroup v2 memory limit is set (less the inactive page cache, which the
// kernel reclaims first).
func (s *ProcSampler) memory() (uint64, bool, error) {
	b, ok, err := readOptional(s.path("proc/meminfo"))
	if err != nil || !ok {
		return 0, false, err
	}
	fields := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			fields[name] = v * 1024 // kB
		}
	}
	free, ok := fields["MemAvailable"]
	if !ok {
		mf, ok := fields["MemFree"]
		if !ok {
			return 0, false, errors.New("/proc/meminfo: no MemAvailable or MemFree")
		}
		free = mf + fields["Buffers"] + fields["Cached"]
	}
	if limit, ok := s.cgroupHeadroom(); ok && limit < free {
		free = limit
	}
	return free, true, nil
}

func (s *ProcSampler) cgroupHeadroom() (uint64, bool) {
	maxB, ok, err := readOptional(s.path("sys/fs/cgroup/memory.max"))
	if err != nil || !ok {
		return 0, false
	}
	limit, err := strconv.ParseUint(strings.TrimSpace(string(maxB)), 10, 64) // "max" means none
	if err != nil {
		return 0, false
	}
	curB, ok, err := readOptional(s.path("sys/fs/cgroup/memory.current"))
	if err != nil || !ok {
		return 0, false
	}
	cur, err := strconv.ParseUint(strings.TrimSpace(string(curB)), 10, 64)
	if err != nil {
		return 0, false
	}
	// Inactive page cache is reclaimed before the limit bites.
	if st, ok, _ := readOptional(s.path("sys/fs/cgroup/memory.stat")); ok {
		for line := range strings.Lines(string(st)) {
			if v, found := strings.CutPrefix(line, "inactive_file "); found {
				if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil && n <= cur {
					cur -= n
				}
			}
		}
	}
	if cur >= limit {
		return 0, true
	}
	return limit - cur, true
}
