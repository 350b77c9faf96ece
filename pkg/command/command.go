package command

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// DefaultOutputCap is how many bytes of output Run keeps by default.
const DefaultOutputCap = 8 << 10

// Options tune Run.
type Options struct {
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env is the environment; nil means the current process's.
	Env []string
	// OutputCap is how many bytes of output to keep (the tail).
	OutputCap int
}

// Result is how the program ended.
type Result struct {
	ExitCode int
	// Output is the tail of stdout and stderr, interleaved as written.
	Output string
	// Truncated is true when output was dropped from the front.
	Truncated bool
}

// Run runs argv and waits for it. A program that exits non-zero is not an
// error: its code is in the result. Run returns an error when the program
// could not start, or ctx ended first (then the whole process group is
// killed and the error wraps ctx.Err()).
func Run(ctx context.Context, argv []string, o Options) (Result, error) {
	if len(argv) == 0 || argv[0] == "" {
		return Result{}, errors.New("command: no program to run")
	}
	if o.OutputCap <= 0 {
		o.OutputCap = DefaultOutputCap
	}
	out := &tail{cap: o.OutputCap}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = o.Dir
	cmd.Env = o.Env
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// Negative pid: the whole process group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	// Children that keep the output pipes open must not hold Wait forever.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	res := Result{Output: out.String(), Truncated: out.dropped}
	if ctx.Err() != nil {
		res.ExitCode = -1
		return res, fmt.Errorf("%s: %w", argv[0], ctx.Err())
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
		return res, nil
	case err != nil:
		res.ExitCode = -1
		return res, fmt.Errorf("start %q: %w", argv[0], err)
	}
	return res, nil
}

// tail keeps the last cap bytes written to it.
type tail struct {
	mu      sync.Mutex
	cap     int
	buf     []byte
	dropped bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.cap; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.dropped = true
	}
	return n, nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
