package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot is the repository root, two folders up.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	return root
}

// runVersion runs a built worker with --version.
func runVersion(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin, "--version").CombinedOutput()
	require.NoError(t, err, string(out))
	return strings.TrimSpace(string(out))
}

// The image's worker reports the version the build passes it, built as
// the Dockerfile builds it: its own go build command, from a copy of what
// the Dockerfile copies into its context (no .git, so Go's VCS stamping has
// nothing to read and without the stamp the version is "devel").
func TestDockerfileBuildStampsTheVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker")
	}
	t.Parallel()
	root := repoRoot(t)
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	// The RUN that builds the worker, its continuation lines joined.
	text := strings.ReplaceAll(string(dockerfile), "\\\n", " ")
	m := regexp.MustCompile(`(?m)^RUN (.*go build .*\./cmd/scaleout-worker.*)$`).FindStringSubmatch(text)
	require.NotNil(t, m, "no RUN ... go build ./cmd/scaleout-worker in the Dockerfile")
	require.Regexp(t, `(?m)^ARG VERSION`, text, "the Dockerfile takes VERSION as a build argument")
	require.Regexp(t, `(?m)^COPY go.mod go.sum ./$`, text)
	// The folders the Dockerfile copies, each to the same place: the test
	// copies the same ones, so a folder the worker needs and the Dockerfile
	// leaves out fails here.
	dirs := regexp.MustCompile(`(?m)^COPY ([a-z][a-z/-]*)/ ([a-z][a-z/-]*)/$`).FindAllStringSubmatch(text, -1)
	require.NotEmpty(t, dirs, "no COPY <dir>/ <dir>/ in the Dockerfile")

	src := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(src, f), b, 0o644))
	}
	for _, d := range dirs {
		require.Equal(t, d[1], d[2], "COPY %s/ to a folder of the same name", d[1])
		require.NoError(t, os.CopyFS(filepath.Join(src, d[1]), os.DirFS(filepath.Join(root, d[1]))))
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(m[1], "/out/", out+"/"))
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "VERSION=1a2b3c4d5e6f", "TARGETOS="+runtime.GOOS, "TARGETARCH="+runtime.GOARCH)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	require.Equal(t, "1a2b3c4d5e6f", runVersion(t, filepath.Join(out, "scaleout-worker")))
}

// The EC2 pools' worker binary, built by make (infra.mk), reports the
// Makefile's VERSION: the last commit of the worker's sources.
func TestMakeBuildStampsTheVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker")
	}
	t.Parallel()
	root := repoRoot(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	// The command make runs, printed (-n) and run here for this machine.
	dry := exec.Command("make", "-s", "-n", "-B", "build/worker-linux-arm64/worker")
	dry.Dir = root
	b, err := dry.Output()
	require.NoError(t, err)
	var build string
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, "go build") {
			build = strings.TrimSpace(line)
		}
	}
	require.NotEmpty(t, build, string(b))
	want := regexp.MustCompile(`assemble\.version=([0-9a-f]{7,}(-dirty)?)'`).FindStringSubmatch(build)
	require.NotNil(t, want, "the make build stamps the version (a commit): %s", build)
	out := filepath.Join(t.TempDir(), "worker")
	build = strings.Replace(build, "GOARCH=arm64", "GOARCH="+runtime.GOARCH, 1)
	build = strings.Replace(build, "-o build/worker-linux-arm64/worker", "-o "+out, 1)
	cmd := exec.Command("sh", "-c", build)
	cmd.Dir = root
	b, err = cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	got := runVersion(t, out)
	require.Equal(t, want[1], got)
	require.NotEqual(t, "devel", got)
}
