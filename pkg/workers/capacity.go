package workers

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
type ProcSampler struct {
	// Root is where proc and sys are mounted; default "/".
	Root string

	mu                sync.Mutex
	prevBusy, prevAll uint64
	primed            bool
}

// NewProcSampler returns a sampler primed with a first CPU reading, so
// that the first Sample measures the time since it was made.
func NewProcSampler() *ProcSampler {
	s := &ProcSampler{}
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
// only primes.
func (s *ProcSampler) cpu() (float64, bool, error) {
	b, ok, err := readOptional(s.path("proc/stat"))
	if err != nil || !ok {
		return 0, false, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, false, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	// user nice system idle iowait irq softirq steal (guest is in user).
	var all, idle uint64
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("/proc/stat: field %d %q: %w", i+1, f, err)
		}
		all += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	busy := all - idle
	s.mu.Lock()
	defer s.mu.Unlock()
	prevBusy, prevAll, primed := s.prevBusy, s.prevAll, s.primed
	s.prevBusy, s.prevAll, s.primed = busy, all, true
	if !primed || all <= prevAll || busy < prevBusy {
		return 0, false, nil
	}
	return 100 * float64(busy-prevBusy) / float64(all-prevAll), true, nil
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
