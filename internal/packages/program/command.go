package program

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

// DefaultMaxLine is the longest line OnLine receives by default; longer
// lines arrive in pieces.
const DefaultMaxLine = 16 << 10

// Stream names, as OnLine receives them.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// ErrNotStarted marks a program that could not start (not found, not
// executable, a working directory that does not exist): running it again
// will fail the same way.
var ErrNotStarted = errors.New("program did not start")

// Options tune Run.
type Options struct {
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env is the environment; nil means the current process's.
	Env []string
	// OutputCap is how many bytes of output to keep (the tail), for the
	// combined output and for each stream's own tail.
	OutputCap int
	// OnLine, when set, receives every line the program writes, as it
	// writes it: stream is Stdout or Stderr, line has no line ending ("\n"
	// or "\r\n"). A last line without a newline arrives when the program
	// ends. Calls are never concurrent, and all are made before Run
	// returns. A slow OnLine slows the program, whose writes block once
	// the pipe is full.
	//
	// With OnLine set, stdout and stderr are read through separate pipes:
	// Result.Stdout and Result.Stderr hold each one's tail, and
	// Result.Output interleaves them in the order they were read (exact
	// within a stream, approximate across the two). Without it they share
	// one pipe, Output keeps the exact order, and Stdout and Stderr are
	// empty.
	OnLine func(stream, line string)
	// Credential, when set, runs the program as another user and group,
	// with no supplementary groups (the starter needs CAP_SETUID and
	// CAP_SETGID, and CAP_KILL to stop it: root has them). Nil runs it as
	// the starter's user.
	Credential *syscall.Credential
	// MaxLine is the longest line OnLine receives, in bytes; a longer line
	// arrives in pieces of at most MaxLine bytes, cut between UTF-8
	// characters. 0 means DefaultMaxLine.
	MaxLine int
}

// Result is how the program ended.
type Result struct {
	// ExitCode is the program's exit code; -1 when it did not start, was
	// cancelled, or was killed by a signal.
	ExitCode int
	// Signal names the signal that killed the program, e.g. "killed";
	// empty when it exited.
	Signal string
	// Output is the tail of stdout and stderr, interleaved as written.
	Output string
	// Truncated is true when output was dropped from the front.
	Truncated bool
	// Stdout and Stderr are each stream's tail, kept when Options.OnLine
	// is set.
	Stdout, Stderr string
	// StdoutTruncated and StderrTruncated are true when that stream's
	// tail lost its front.
	StdoutTruncated, StderrTruncated bool
}

// Run runs argv and waits for it. A program that exits non-zero is not an
// error: its code is in the result. Run returns an error when the program
// could not start (wrapping ErrNotStarted), or ctx ended first (then the
// whole process group is killed and the error wraps ctx.Err()).
func Run(ctx context.Context, argv []string, o Options) (Result, error) {
	if len(argv) == 0 || argv[0] == "" {
		return Result{ExitCode: -1}, fmt.Errorf("command: no program to run: %w", ErrNotStarted)
	}
	if o.OutputCap <= 0 {
		o.OutputCap = DefaultOutputCap
	}
	if o.MaxLine <= 0 {
		o.MaxLine = DefaultMaxLine
	}
	out := &tail{cap: o.OutputCap}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = o.Dir
	cmd.Env = o.Env
	var stdout, stderr *stream
	if o.OnLine == nil {
		cmd.Stdout = out
		cmd.Stderr = out
	} else {
		var mu sync.Mutex // serialises OnLine across the two streams
		emit := func(name, line string) {
			mu.Lock()
			defer mu.Unlock()
			o.OnLine(name, line)
		}
		stdout = &stream{name: Stdout, all: out, own: &tail{cap: o.OutputCap}, maxLine: o.MaxLine, emit: emit}
		stderr = &stream{name: Stderr, all: out, own: &tail{cap: o.OutputCap}, maxLine: o.MaxLine, emit: emit}
		cmd.Stdout = stdout
		cmd.Stderr = stderr
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.SysProcAttr.Credential = o.Credential
	cmd.Cancel = func() error {
		// Negative pid: the whole process group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	// Children that keep the output pipes open must not hold Wait forever.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		if ctx.Err() != nil {
			return Result{ExitCode: -1}, fmt.Errorf("%s: %w", argv[0], ctx.Err())
		}
		return Result{ExitCode: -1}, fmt.Errorf("start %q: %w (%w)", argv[0], err, ErrNotStarted)
	}
	err := cmd.Wait()
	// The program has ended: whatever it left running in its group goes
	// too, so that a run leaves no process behind. (The group's id cannot
	// be reused while a member lives; ESRCH means none is left.)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	// Wait has returned, so the goroutines copying output are done.
	res := Result{Output: out.String(), Truncated: out.truncated()}
	if stdout != nil {
		stdout.flush()
		stderr.flush()
		res.Stdout, res.StdoutTruncated = stdout.own.String(), stdout.own.truncated()
		res.Stderr, res.StderrTruncated = stderr.own.String(), stderr.own.truncated()
	}
	if ctx.Err() != nil {
		res.ExitCode = -1
		return res, fmt.Errorf("%s: %w", argv[0], ctx.Err())
	}
	if st := cmd.ProcessState; st != nil {
		// The program ended. An exec.ErrWaitDelay here means only that a
		// child it left behind still held the output open.
		res.ExitCode = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal().String()
		}
		return res, nil
	}
	res.ExitCode = -1
	return res, fmt.Errorf("wait for %q: %w", argv[0], err)
}

// stream is one of the program's output streams when they are read apart:
// it feeds the combined tail, its own tail and OnLine.
type stream struct {
	name    string
	all     *tail
	own     *tail
	maxLine int
	emit    func(stream, line string)
	partial []byte // the current line, not yet ended
}

// Write is called by one goroutine at a time (exec copies each stream in
// its own goroutine).
func (s *stream) Write(p []byte) (int, error) {
	_, _ = s.all.Write(p)
	_, _ = s.own.Write(p)
	n := len(p)
	for len(p) > 0 {
		i := indexNewline(p)
		if i < 0 {
			s.partial = append(s.partial, p...)
			p = nil
		} else {
			s.partial = append(s.partial, p[:i]...)
			p = p[i+1:]
		}
		for len(s.partial) > s.maxLine {
			cut := runeCut(s.partial, s.maxLine)
			s.emit(s.name, string(s.partial[:cut]))
			s.partial = s.partial[:copy(s.partial, s.partial[cut:])]
		}
		if i >= 0 {
			line := s.partial
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			s.emit(s.name, string(line))
			s.partial = s.partial[:0]
		}
	}
	return n, nil
}

// flush passes on a last line that had no newline.
func (s *stream) flush() {
	if len(s.partial) > 0 {
		s.emit(s.name, string(s.partial))
		s.partial = nil
	}
}

func indexNewline(p []byte) int {
	for i, b := range p {
		if b == '\n' {
			return i
		}
	}
	return -1
}

// runeCut is where to cut b to keep at most max bytes without splitting a
// UTF-8 character (falling back to max for bytes that are not UTF-8).
func runeCut(b []byte, max int) int {
	for cut := max; cut > max-4 && cut > 0; cut-- {
		if isRuneStart(b[cut]) {
			return cut
		}
	}
	return max
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// tail keeps the last cap bytes written to it.
type tail struct {
	mu      sync.Mutex
	cap     int
	buf     []byte
	written int64
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.written += int64(len(p))
	if len(p) >= t.cap {
		t.buf = append(t.buf[:0], p[len(p)-t.cap:]...)
		return len(p), nil
	}
	t.buf = append(t.buf, p...)
	// Compact only once the buffer holds twice the cap, so that many
	// small writes do not each move the whole tail.
	if len(t.buf) > 2*t.cap {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.cap:]...)
	}
	return len(p), nil
}

func (t *tail) truncated() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.written > int64(t.cap)
}

// String returns the tail, starting at a UTF-8 character when the front
// was cut.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > t.cap {
		b = b[len(b)-t.cap:]
	}
	if t.written > int64(len(b)) {
		for i := 0; i < 3 && len(b) > 0 && !isRuneStart(b[0]); i++ {
			b = b[1:]
		}
	}
	return string(b)
}
