package tasktypes

import (
	"github.com/scaleout/scaleout/internal/testkit/proctest"

	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/task"
)

func TestExecCheck(t *testing.T) {
	t.Parallel()
	runCheckCases(t, &Exec{}, []checkCase{
		{name: "minimal", with: obj{"command": list("echo", "hi")}},
		{name: "every setting", with: obj{
			"command": list("sh", "-c", "exit 1"), "env": obj{"A": "1", "N": 2.0, "B": true},
			"dir": "/tmp", "timeout": "10m", "success_codes": list(0.0, 1.0), "output_limit": 1024.0,
		}},
		{name: "numbers and true/false as arguments", with: obj{"command": list("sleep", 1.0, true)}},
		{name: "numbers as text", with: obj{"command": list("true"), "output_limit": "2048", "success_codes": list("3")}},
		{name: "placeholders everywhere", with: obj{
			"command": list("./t.sh", "${params.date}"), "env": obj{"A": "${params.a}"},
			"dir": "${params.dir}", "timeout": "${params.timeout}", "success_codes": list(0.0, "${params.code}"),
			"output_limit": "${params.limit}",
		}},
		{name: "whole settings as placeholders", with: obj{
			"command": "${params.cmd}", "env": "${params.env}", "success_codes": "${params.codes}",
		}},
		{name: "null is absent", with: obj{"command": list("true"), "env": nil, "timeout": nil}},

		{name: "no settings", with: nil,
			errs: []string{`with.command: required: the program and its arguments, e.g. ["sh", "-c", "echo hi"]`}},
		{name: "command as one string", with: obj{"command": "echo hi"},
			errs: []string{`with.command "echo hi": want a list: the program and its arguments, e.g. ["sh", "-c", "echo hi"]`}},
		{name: "empty command", with: obj{"command": list()},
			errs: []string{`with.command []: name the program to run`}},
		{name: "empty program", with: obj{"command": list(" ", "x")},
			errs: []string{`with.command[0] " ": name the program to run`}},
		{name: "object argument", with: obj{"command": list("echo", obj{"a": 1.0})},
			errs: []string{`with.command[1] {"a":1}: want a string, not an object`}},
		{name: "env not an object", with: obj{"command": list("true"), "env": list("A=1")},
			errs: []string{`with.env ["A=1"]: want an object, e.g. {"STAGE": "prod"}, not a list`}},
		{name: "env name with =", with: obj{"command": list("true"), "env": obj{"A=B": "x"}},
			errs: []string{`with.env "A=B": a variable name must not be empty or hold "="`}},
		{name: "env value a list", with: obj{"command": list("true"), "env": obj{"A": list(1.0)}},
			errs: []string{`with.env.A [1]: want a string, not a list`}},
		{name: "timeout without unit", with: obj{"command": list("true"), "timeout": "10"},
			errs: []string{`with.timeout "10": write it as "30s" or "10m"`}},
		{name: "timeout a number", with: obj{"command": list("true"), "timeout": 10.0},
			errs: []string{`with.timeout 10: write it as "30s" or "10m"`}},
		{name: "timeout negative", with: obj{"command": list("true"), "timeout": "-1s"},
			errs: []string{`with.timeout "-1s": must be more than 0`}},
		{name: "success codes not a list", with: obj{"command": list("true"), "success_codes": 0.0},
			errs: []string{`with.success_codes 0: want a list, e.g. [0, 1], not a number`}},
		{name: "success codes empty", with: obj{"command": list("true"), "success_codes": list()},
			errs: []string{`with.success_codes []: list at least one`}},
		{name: "success codes out of range", with: obj{"command": list("true"), "success_codes": list(0.0, 256.0, 1.5)},
			errs: []string{
				`with.success_codes[1] 256: want a whole number from 0 to 255`,
				`with.success_codes[2] 1.5: want a whole number from 0 to 255`,
			}},
		{name: "output limit zero", with: obj{"command": list("true"), "output_limit": 0.0},
			errs: []string{`with.output_limit 0: want a whole number from 1 to 16777216`}},
		{name: "output limit words", with: obj{"command": list("true"), "output_limit": "lots"},
			errs: []string{`with.output_limit "lots": want a whole number from 1 to 16777216`}},
		{name: "misspelt setting", with: obj{"comand": list("true")},
			errs: []string{
				`with.comand: unknown setting: did you mean "command"? (known: command, dir, env, output_limit, success_codes, timeout)`,
				`with.command: required`,
			}},
		{name: "unknown setting", with: obj{"command": list("true"), "shell": "bash"},
			errs: []string{`with.shell: unknown setting (known: command, dir, env, output_limit, success_codes, timeout)`}},
		{name: "every problem at once", with: obj{"timeout": "soon", "output_limit": -1.0, "dir": list()},
			errs: []string{
				`with.command: required`,
				`with.dir []: want a directory path, not a list`,
				`with.timeout "soon": write it as`,
				`with.output_limit -1: want a whole number`,
			}},
	})
}

// execSetup returns an exec type whose inherited environment is the
// test's PATH and a HOME, plus a place for files.
func execSetup(t *testing.T) (*Exec, string) {
	t.Helper()
	env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": "/home/worker", "AWS_SECRET_ACCESS_KEY": "not-for-tasks"}
	return &Exec{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}, t.TempDir()
}

func TestExecRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		maxLines  int
		with      func(dir string) obj
		errText   string
		permanent bool
		check     func(t *testing.T, dir string, out task.Output, log *fakeLog)
	}{
		{name: "success with lines streamed",
			with: func(string) obj {
				return obj{"command": list("sh", "-c", "echo hello; echo oops >&2; echo bye")}
			},
			check: func(t *testing.T, _ string, out task.Output, log *fakeLog) {
				require.Equal(t, 0, out["exit_code"])
				require.Equal(t, "hello\nbye\n", out["stdout"])
				require.Equal(t, "oops\n", out["stderr"])
				require.IsType(t, int64(0), out["duration_ms"])
				require.NotContains(t, out, "json")
				lines := log.Lines()
				require.ElementsMatch(t, []logLine{{"stdout", "hello"}, {"stderr", "oops"}, {"stdout", "bye"}}, lines)
				require.Empty(t, log.Warnings())
			}},
		{name: "arguments from numbers",
			with: func(string) obj { return obj{"command": list("echo", 1000000.0, 2.5, true)} },
			check: func(t *testing.T, _ string, out task.Output, _ *fakeLog) {
				require.Equal(t, "1000000 2.5 true\n", out["stdout"])
			}},
		{name: "minimal inherited environment plus env",
			with: func(string) obj { return obj{"command": list("env"), "env": obj{"STAGE": "prod", "HOME": "/other"}} },
			check: func(t *testing.T, _ string, out task.Output, _ *fakeLog) {
				env := strings.Split(strings.TrimSpace(out["stdout"].(string)), "\n")
				require.ElementsMatch(t, []string{"HOME=/other", "PATH=" + os.Getenv("PATH"), "STAGE=prod"}, env,
					"only the inherited variables and the task's own")
			}},
		{name: "working directory",
			with: func(dir string) obj { return obj{"command": list("pwd"), "dir": dir} },
			check: func(t *testing.T, dir string, out task.Output, _ *fakeLog) {
				require.Equal(t, dir+"\n", out["stdout"])
			}},
		{name: "exit code not a success",
			with: func(string) obj {
				return obj{"command": list("sh", "-c", "echo first >&2; echo 'disk full' >&2; exit 3")}
			},
			errText: `sh exited with code 3; success is 0 (with.success_codes); stderr ends: "disk full"`,
			check: func(t *testing.T, _ string, out task.Output, _ *fakeLog) {
				require.Equal(t, 3, out["exit_code"])
			}},
		{name: "exit code listed as a success",
			with: func(string) obj { return obj{"command": list("sh", "-c", "exit 3"), "success_codes": list(0.0, 3.0)} },
			check: func(t *testing.T, _ string, out task.Output, _ *fakeLog) {
				require.Equal(t, 3, out["exit_code"])
			}},
		{name: "zero not a success unless listed",
			with:    func(string) obj { return obj{"command": list("true"), "success_codes": list(1.0)} },
			errText: "true exited with code 0; success is 1"},
		{name: "killed by a signal",
			with:    func(string) obj { return obj{"command": list("sh", "-c", "kill -KILL $$")} },
			errText: `sh was killed by signal "killed"`,
			check: func(t *testing.T, _ string, out task.Output, _ *fakeLog) {
				require.Equal(t, -1, out["exit_code"])
			}},
		{name: "program not found",
			with:    func(string) obj { return obj{"command": list("/no/such/program")} },
			errText: `start "/no/such/program"`, permanent: true},
		{name: "working directory missing",
			with:    func(dir string) obj { return obj{"command": list("true"), "dir": filepath.Join(dir, "nope")} },
			errText: "check with.command and with.dir", permanent: true},
		{name: "setting resolved wrong",
			with:    func(string) obj { return obj{"command": list("true"), "timeout": "soon"} },
			errText: `settings as resolved for the run: with.timeout "soon": write it as`, permanent: true},
		{name: "command resolved to a string",
			with:    func(string) obj { return obj{"command": "${not resolved}"} },
			errText: `with.command "${not resolved}": want a list`, permanent: true},
		{name: "timeout kills",
			with:    func(string) obj { return obj{"command": list("sleep", "60"), "timeout": "50ms"} },
			errText: "sleep timed out after 50ms (with.timeout) and was killed"},
		{name: "stdout JSON object mapped",
			with: func(string) obj {
				return obj{"command": list("sh", "-c", `echo '  {"rows": 42, "files": ["a"]}'; echo 'ignored' >&2`)}
			},
			check: func(t *testing.T, _ string, out task.Output, _ *fakeLog) {
				require.Equal(t, map[string]any{"rows": 42.0, "files": []any{"a"}}, out["json"])
			}},
		{name: "stdout JSON list not mapped",
			with: func(string) obj { return obj{"command": list("echo", `[1, 2]`)} },
			check: func(t *testing.T, _ string, out task.Output, _ *fakeLog) {
				require.NotContains(t, out, "json")
			}},
		{name: "stdout not quite JSON",
			with: func(string) obj { return obj{"command": list("echo", `{"rows": 1} and more`)} },
			check: func(t *testing.T, _ string, out task.Output, _ *fakeLog) {
				require.NotContains(t, out, "json")
			}},
		{name: "output kept up to the limit",
			with: func(string) obj {
				return obj{"command": list("sh", "-c", `echo '{"rows": 1, "pad": "xxxxxxxxxxxxxxxxxxxx"}'; printf '%050d' 0 >&2`), "output_limit": 10.0}
			},
			check: func(t *testing.T, _ string, out task.Output, _ *fakeLog) {
				require.Equal(t, `xxxxxxx"}`+"\n", out["stdout"])
				require.Equal(t, "0000000000", out["stderr"])
				require.NotContains(t, out, "json", "a cut JSON object is not parsed")
			}},
		{name: "lines forwarded up to the cap", maxLines: 3,
			with: func(string) obj { return obj{"command": list("seq", "10")} },
			check: func(t *testing.T, _ string, out task.Output, log *fakeLog) {
				require.Equal(t, []logLine{{"stdout", "1"}, {"stdout", "2"}, {"stdout", "3"}}, log.Lines())
				require.Equal(t, []string{"more than 3 output lines: later lines are not logged; " +
					"the output object keeps the last 65536 bytes of stdout and of stderr (with.output_limit)"}, log.Warnings())
				require.Equal(t, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", out["stdout"])
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, dir := execSetup(t)
			e.MaxLines = tc.maxLines
			in, log := input(tc.with(dir))
			out, err := e.Run(context.Background(), in)
			if tc.errText == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.errText)
				require.Equal(t, tc.permanent, errorsIsPermanent(err), "permanent: %v", err)
			}
			if tc.check != nil {
				tc.check(t, dir, out, log)
			}
		})
	}
}

// Cancelling an exec task kills the program and every child it started.
func TestExecCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	e, dir := execSetup(t)
	pidFile := filepath.Join(dir, "child.pid")
	ctx, cancel := context.WithCancel(context.Background())
	in, _ := input(obj{"command": list("sh", "-c", "sleep 60 & echo $! > "+pidFile+"; wait")})
	done := make(chan error, 1)
	go func() {
		_, err := e.Run(ctx, in)
		done <- err
	}()
	var child int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || len(b) == 0 || b[len(b)-1] != '\n' {
			return false
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	require.True(t, proctest.Alive(child))
	cancel()
	require.Eventually(t, func() bool { return !proctest.Alive(child) }, time.Second, 5*time.Millisecond,
		"child %d still alive 1s after cancel", child)
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, errorsIsPermanent(err))
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
