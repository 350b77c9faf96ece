package tasktypes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/scaleout/scaleout/internal/packages/program"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// Defaults and limits of the exec type.
const (
	// DefaultOutputLimit is how many bytes of stdout and of stderr the
	// output object keeps (the tail of each).
	DefaultOutputLimit = 64 << 10
	// MaxOutputLimit is the largest output_limit.
	MaxOutputLimit = 16 << 20
	// DefaultMaxLines is how many output lines one attempt forwards to the
	// task's log.
	DefaultMaxLines = 10_000
)

// InheritedEnv names the variables an exec task inherits from the worker's
// environment (when set there); with.env adds to them. Nothing else of the
// worker's environment (credentials included) reaches the program.
var InheritedEnv = []string{"PATH", "HOME", "LANG", "TMPDIR"}

// Exec is the exec task type: it runs a program in its own process group.
//
// Settings (with):
//
//	command        required  list: the program and its arguments, e.g. ["sh", "-c", "echo hi"];
//	                         numbers and true/false are passed as their text
//	env            optional  object: variables added to the inherited ones (see InheritedEnv)
//	dir            optional  string: the working directory; relative to the run's scratch
//	                         directory (task.Input.Dir), where the program starts when no dir is given
//	timeout        optional  duration, e.g. "10m": kills the program (and its children)
//	success_codes  optional  list of exit codes that mean success; default [0]
//	output_limit   optional  bytes of stdout and of stderr kept in the output; default 65536
//
// Output: exit_code (int; -1 when killed by a signal or cancelled), stdout
// and stderr (the tail of each, up to output_limit bytes), duration_ms,
// and json: stdout parsed, when stdout (trimmed) is a JSON object that fit
// within output_limit, so that `outputs` can map e.g. "json.rows".
//
// Each stdout and stderr line goes to the task's log as the program writes
// it (up to MaxLines lines, then one warning). An exit code not in
// success_codes, a signal and a timeout are errors that a retry may fix; a
// program that cannot start and settings that resolve to wrong values are
// task.ErrPermanent.
type Exec struct {
	// MaxLines caps how many output lines one attempt forwards to its log;
	// 0 means DefaultMaxLines.
	MaxLines int
	// LookupEnv reads the worker's environment for InheritedEnv; nil means
	// os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// RunAs, when set, runs the programs as that user (and its group, no
	// supplementary groups), with HOME its home: they cannot read the
	// worker's environment or files. Nil runs them as the worker's user.
	RunAs *RunAs
}

var execKeys = []string{"command", "env", "dir", "timeout", "success_codes", "output_limit"}

const commandExample = `["sh", "-c", "echo hi"]`

type execSettings struct {
	argv         []string
	env          map[string]string
	dir          string
	timeout      time.Duration
	successCodes []int
	outputLimit  int
}

func readExec(with map[string]any, check bool) (execSettings, *settings) {
	s := newSettings(with, check, execKeys...)
	x := execSettings{successCodes: []int{0}, outputLimit: DefaultOutputLimit}
	if v, ok := s.get("command"); !ok {
		s.missing("command", "the program and its arguments, e.g. "+commandExample)
	} else if !s.placeholder(v) {
		x.argv = readCommand(s, v)
	}
	if m, ok := s.object("env", `{"STAGE": "prod"}`); ok {
		x.env = map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			path := "env." + k
			if k == "" || strings.ContainsAny(k, "=\x00") {
				s.problem("env", k, "a variable name must not be empty or hold \"=\"")
				continue
			}
			if s.placeholder(m[k]) {
				continue
			}
			if v, ok := s.scalar(path, m[k], "a string"); ok {
				if strings.ContainsRune(v, 0) {
					s.problem(path, v, "must not hold a NUL byte")
				}
				x.env[k] = v
			}
		}
	}
	x.dir, _ = s.str("dir", "a directory path")
	x.timeout, _ = s.duration("timeout", false)
	if codes, ok := s.intList("success_codes", 0, 255, "[0, 1]"); ok {
		x.successCodes = codes
	}
	if n, ok := s.integer("output_limit", 1, MaxOutputLimit); ok {
		x.outputLimit = n
	}
	return x, s
}

func readCommand(s *settings, v any) []string {
	l, ok := asList(v)
	switch {
	case !ok:
		s.problem("command", v, "want a list: the program and its arguments, e.g. %s", commandExample)
		return nil
	case len(l) == 0:
		s.problem("command", l, "name the program to run, e.g. %s", commandExample)
		return nil
	}
	argv := make([]string, len(l))
	for i, a := range l {
		path := fmt.Sprintf("command[%d]", i)
		if s.placeholder(a) {
			continue
		}
		str, ok := s.scalar(path, a, "a string")
		switch {
		case !ok:
		case strings.ContainsRune(str, 0):
			s.problem(path, str, "must not hold a NUL byte")
		case i == 0 && strings.TrimSpace(str) == "":
			s.problem(path, str, "name the program to run, e.g. %s", commandExample)
		}
		argv[i] = str
	}
	return argv
}

// Check implements task.Type.
func (e *Exec) Check(with map[string]any) error {
	_, s := readExec(with, true)
	return s.err()
}

// Run implements task.Type.
func (e *Exec) Run(ctx context.Context, in task.Input) (task.Output, error) {
	x, s := readExec(in.With, false)
	if err := s.runErr(); err != nil {
		return nil, err
	}
	log := logOf(in)
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if x.timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, x.timeout)
	}
	defer cancel()
	fwd := &lineForwarder{log: log, max: e.MaxLines, limit: x.outputLimit}
	if fwd.max <= 0 {
		fwd.max = DefaultMaxLines
	}
	start := time.Now()
	res, err := program.Run(runCtx, x.argv, program.Options{
		Dir:        workDir(in.Dir, x.dir),
		Env:        e.environment(x.env),
		OutputCap:  x.outputLimit,
		OnLine:     fwd.line,
		Credential: e.RunAs.credential(),
	})
	out := task.Output{
		"exit_code":   res.ExitCode,
		"stdout":      res.Stdout,
		"stderr":      res.Stderr,
		"duration_ms": time.Since(start).Milliseconds(),
	}
	if j := jsonObject(res.Stdout, res.StdoutTruncated); j != nil {
		out["json"] = j
	}
	switch {
	case errors.Is(err, program.ErrNotStarted):
		return out, permanent(fmt.Errorf("%w; check with.command and with.dir", err))
	case ctx.Err() != nil:
		return out, fmt.Errorf("%s stopped: %w", x.argv[0], ctx.Err())
	case runCtx.Err() != nil:
		return out, fmt.Errorf("%s timed out after %s (with.timeout) and was killed: %w",
			x.argv[0], x.timeout, context.DeadlineExceeded)
	case err != nil:
		return out, err
	case res.Signal != "":
		return out, fmt.Errorf("%s was killed by signal %q%s", x.argv[0], res.Signal, lastLine(res.Stderr))
	case !slices.Contains(x.successCodes, res.ExitCode):
		return out, fmt.Errorf("%s exited with code %d; success is %s (with.success_codes)%s",
			x.argv[0], res.ExitCode, codesText(x.successCodes), lastLine(res.Stderr))
	}
	return out, nil
}

// workDir is where a program starts: the task's dir, resolved against the
// run's scratch directory when relative, else the scratch directory.
func workDir(scratch, dir string) string {
	switch {
	case scratch == "" || filepath.IsAbs(dir):
		return dir
	case dir == "":
		return scratch
	}
	return filepath.Join(scratch, dir)
}

// environment is the inherited variables plus the task's own.
func (e *Exec) environment(own map[string]string) []string {
	lookup := e.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	vars := map[string]string{}
	for _, k := range InheritedEnv {
		if v, ok := lookup(k); ok {
			vars[k] = v
		}
	}
	if e.RunAs != nil {
		vars["HOME"] = e.RunAs.Home // not the worker's
	}
	for k, v := range own {
		vars[k] = v
	}
	env := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	return env
}

// lineForwarder passes output lines to the log, up to max; program.Run
// never calls it concurrently.
type lineForwarder struct {
	log     task.Log
	max     int
	limit   int
	n       int
	dropped bool
}

func (f *lineForwarder) line(stream, line string) {
	f.n++
	if f.n <= f.max {
		f.log.Output(stream, line)
		return
	}
	if !f.dropped {
		f.dropped = true
		f.log.Warn(fmt.Sprintf("more than %d output lines: later lines are not logged; "+
			"the output object keeps the last %d bytes of stdout and of stderr (with.output_limit)", f.max, f.limit))
	}
}

// jsonObject parses stdout when it is one JSON object.
func jsonObject(stdout string, truncated bool) map[string]any {
	t := strings.TrimSpace(stdout)
	if truncated || !strings.HasPrefix(t, "{") {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(t), &m) != nil {
		return nil
	}
	return m
}

// lastLine quotes the last non-empty line of stderr for an error message.
func lastLine(stderr string) string {
	t := strings.TrimSpace(stderr)
	if t == "" {
		return ""
	}
	if i := strings.LastIndexByte(t, '\n'); i >= 0 {
		t = strings.TrimSpace(t[i+1:])
	}
	return "; stderr ends: " + show(t)
}

func codesText(codes []int) string {
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprint(c)
	}
	return strings.Join(parts, ", ")
}

// logOf is the attempt's log, or one that drops everything.
func logOf(in task.Input) task.Log {
	if in.Log == nil {
		return discard{}
	}
	return in.Log
}

type discard struct{}

func (discard) Output(string, string) {}
func (discard) Warn(string)           {}
