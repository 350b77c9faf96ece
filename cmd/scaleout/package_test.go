package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// run executes the CLI in-process with args, returning its output and error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func exitCode(err error) int {
	var e exitError
	if errors.As(err, &e) {
		return e.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestPackageValidate(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, "package", "validate", "../../examples/hello.yaml", "../../examples/etl.yaml")
	require.NoError(t, err)
	require.Contains(t, out, `package "hello" is valid (1 task)`)
	require.Contains(t, out, `package "load-sales" is valid (6 tasks; 2 more inside containers)`,
		"counted as package run counts them: a container is one task, what it holds apart")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("name: bad\ntasks:\n  - {name: a, type: exce}\n  - {name: b, type: sleep, after: [{task: zz}], with: {duration: 1s}}\n"), 0o600))
	_, errOut, err := run(t, "package", "validate", bad)
	require.Equal(t, 1, exitCode(err))
	require.Contains(t, errOut, `bad.yaml:3: tasks[0] "a".type: unknown task type "exce"`)
	require.Contains(t, errOut, `unknown task "zz"`)
}

func TestPackageRun(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, "package", "run", "../../examples/hello.yaml", "--param", "who=Ada")
	require.NoError(t, err)
	require.Contains(t, out, "▶ greet started")
	require.Contains(t, out, "greet | hello, Ada")
	require.Contains(t, out, "✔ greet succeeded")
	require.Contains(t, out, "package succeeded")

	out, _, err = run(t, "package", "run", "../../examples/retry.yaml", "-p", "dir="+t.TempDir())
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(out, "↻ flaky will retry"))

	_, _, err = run(t, "package", "run", "../../examples/hello.yaml", "--param", "nobody=x")
	require.ErrorContains(t, err, "parameters.nobody")
	_, _, err = run(t, "package", "run", "../../examples/hello.yaml", "--param", "who")
	require.ErrorContains(t, err, "write name=value")
}

// A failing package exits 1, and a sensitive value is never printed.
func TestPackageRunFailureRedacts(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "leak.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`name: leak
parameters:
  token: {type: string, sensitive: true}
tasks:
  - name: echo
    type: exec
    with: {command: [sh, -c, 'echo "token is $0"; echo "$0" >&2; exit 3', "${params.token}"]}
`), 0o600))
	out, _, err := run(t, "package", "run", file, "--param", "token=hunter2-secret")
	require.Equal(t, 1, exitCode(err))
	require.Contains(t, out, "token is ***")
	require.Contains(t, out, "package failed")
	require.NotContains(t, out, "hunter2-secret")
}

// The run summary counts tasks as validate does: the package's own, then
// the runs of those inside containers, one per iteration; a disabled task
// is one of the package's tasks, skipped.
func TestPackageRunCountsAsValidate(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "count.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`name: count
tasks:
  - {name: a, type: exec, with: {command: ["true"]}}
  - {name: off, type: exec, disabled: true, after: [{task: a}], with: {command: ["true"]}}
  - name: loop
    type: foreach
    items: '["x", "y", "z"]'
    after: [{task: off}]
    tasks:
      - {name: one, type: exec, with: {command: [echo, "${item}"]}}
      - {name: two, type: exec, after: [{task: one}], with: {command: [echo, "${item}"]}}
`), 0o600))
	out, _, err := run(t, "package", "validate", file)
	require.NoError(t, err)
	require.Contains(t, out, `package "count" is valid (3 tasks; 2 more inside containers)`)
	out, _, err = run(t, "package", "run", file, "-q")
	require.NoError(t, err)
	require.Contains(t, out, "\n3 tasks: 2 succeeded, 0 failed, 1 skipped, 0 canceled; inside containers, 6 runs: 6 succeeded, 0 failed, 0 skipped, 0 canceled\n")
}

// examples/etl.yaml runs as its header says, on a fresh clone: the sales
// source it names is shipped (examples/sales-source), and the commands
// are the header's own.
func TestETLExampleRunsAsItsHeaderSays(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("../../examples/etl.yaml")
	require.NoError(t, err)
	// The header's commands: "#   " lines, with "\" continuations joined.
	var cmds []string
	cont := false
	for _, line := range strings.Split(string(text), "\n") {
		c, ok := strings.CutPrefix(line, "#   ")
		if !ok {
			cont = false
			continue
		}
		c = strings.TrimSpace(c)
		if cont {
			cmds[len(cmds)-1] += " " + c
		} else {
			cmds = append(cmds, c)
		}
		cont = strings.HasSuffix(c, "\\")
		if cont {
			cmds[len(cmds)-1] = strings.TrimSuffix(cmds[len(cmds)-1], "\\")
		}
	}
	require.Len(t, cmds, 3, "the header: start the source, run the package, stop the source: %q", cmds)
	require.Equal(t, "go run ./examples/sales-source &", cmds[0])
	require.Equal(t, "kill %1", cmds[2])

	// The source, built and started as the header's first command does,
	// on a free port instead of 8081.
	bin := filepath.Join(t.TempDir(), "sales-source")
	build := exec.Command("go", "build", "-o", bin, "./examples/sales-source")
	build.Dir = "../.."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	src := exec.Command(bin, "--listen", "127.0.0.1:0")
	stdout, err := src.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, src.Start())
	t.Cleanup(func() { _ = src.Process.Kill(); _ = src.Wait() })
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "the source prints the URL it serves")
	url := regexp.MustCompile(`http://\S+/sales`).FindString(lines.Text())
	require.NotEmpty(t, url, lines.Text())
	requests := make(chan string, 10)
	go func() {
		for lines.Scan() {
			requests <- lines.Text()
		}
	}()

	args := strings.Fields(cmds[1])
	require.Equal(t, []string{"scaleout", "package", "run", "examples/etl.yaml"}, args[:4])
	args[3] = "../../examples/etl.yaml"
	for i, a := range args {
		args[i] = strings.Replace(a, "http://127.0.0.1:8081/sales", url, 1)
	}
	res, _, err := run(t, args[1:]...)
	require.NoError(t, err, res)
	require.Contains(t, res, "transform | transforming 42 rows of 2026-11-25 in batches of 1000")
	require.Contains(t, res, "per-region[us]/check | us checked")
	require.Contains(t, res, "package succeeded")
	require.Contains(t, res, "6 tasks: 4 succeeded, 0 failed, 2 skipped, 0 canceled; inside containers, 4 runs: 4 succeeded, 0 failed, 0 skipped, 0 canceled")
	require.Equal(t, "GET /sales 200", <-requests, "the token reached the source")

	// A wrong token is refused: the package fails at extract, saying why.
	for i, a := range args {
		if strings.HasPrefix(a, "api_token=") {
			args[i] = "api_token=wrong"
		}
	}
	res, _, err = run(t, append(args[1:], "-q")...)
	require.Equal(t, 1, exitCode(err), res)
	require.Contains(t, res, "unexpected status 401 Unauthorized")
}

// TestPackageRunScratchDirectory runs tasks in a scratch directory of the
// run's own, under SCALEOUT_SCRATCH_DIR, gone when the run ends, whether
// it succeeded or failed.
func TestPackageRunScratchDirectory(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	t.Setenv("SCALEOUT_SCRATCH_DIR", root)
	pkg := filepath.Join(t.TempDir(), "pkg.yaml")
	for _, tc := range []struct {
		name, exit string
		code       int
	}{{"succeeds", "0", 0}, {"fails", "3", 1}} {
		require.NoError(t, os.WriteFile(pkg, []byte(`name: scratch
tasks:
  - name: here
    type: exec
    with: {command: [sh, -c, "pwd; echo made > f.txt; mkdir sub; exit `+tc.exit+`"]}
  - name: there
    type: exec
    with: {command: [sh, -c, "pwd; cat ../f.txt"], dir: sub}
    after: [{task: here}]
`), 0o600))
		out, _, err := run(t, "package", "run", pkg)
		require.Equal(t, tc.code, exitCode(err), tc.name+": "+out)
		require.Regexp(t, regexp.QuoteMeta(root+"/local-"), out, "the tasks start in the run's directory")
		if tc.code == 0 {
			require.Contains(t, out, "/sub\n", "a relative dir is inside it")
			require.Contains(t, out, "there | made", "the next task sees the first one's file")
		}
		entries, err := os.ReadDir(root)
		require.NoError(t, err)
		require.Empty(t, entries, tc.name+": removed when the run ends")
	}
	t.Setenv("SCALEOUT_SCRATCH_DIR", "runs")
	_, _, err := run(t, "package", "run", pkg)
	require.ErrorContains(t, err, `SCALEOUT_SCRATCH_DIR="runs": give an absolute path`)
}
