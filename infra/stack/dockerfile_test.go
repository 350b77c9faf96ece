package stack_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/stack"
)

func readFile(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parts...))
	require.NoError(t, err)
	return string(b)
}

// exampleImages are the worker images of examples/images.
var exampleImages = []string{"dbt", "sqltools"}

// TestWorkerDockerfilesPassTheCheck: the stock Dockerfile and the
// examples' are worker images as CheckWorkerDockerfile (run on every
// dir: image at synth time) reads them.
func TestWorkerDockerfilesPassTheCheck(t *testing.T) {
	t.Parallel()
	require.NoError(t, stack.CheckWorkerDockerfile(readFile(t, root, "Dockerfile")))
	for _, name := range exampleImages {
		require.NoError(t, stack.CheckWorkerDockerfile(readFile(t, root, "examples", "images", name, "Dockerfile")), name)
	}
}

// TestExampleImagesAreLikeTheStockOne: the examples build the worker as
// the stock Dockerfile does (the same builder, the same sources, from the
// "scaleout" context, the same build command) and end as it does (task
// user, user, working folder, stop signal, entry point), with the users'
// ids of the stock image; what differs is the base and the tools.
func TestExampleImagesAreLikeTheStockOne(t *testing.T) {
	t.Parallel()
	stock := readFile(t, root, "Dockerfile")
	lines := func(text string) []string {
		var out []string
		for _, l := range strings.Split(text, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				out = append(out, l)
			}
		}
		return out
	}
	firstFrom := regexp.MustCompile(`(?m)^FROM .* AS build$`)
	build := func(text string) []string {
		// The build stage: from its FROM to the next FROM.
		i := firstFrom.FindStringIndex(text)
		require.NotNil(t, i)
		rest := text[i[0]:]
		j := strings.Index(rest[1:], "\nFROM ")
		require.Positive(t, j)
		return lines(rest[:j+1])
	}
	tail := func(text string, n int) []string { l := lines(text); return l[len(l)-n:] }
	stockBuild := build(stock)
	for _, name := range exampleImages {
		text := readFile(t, root, "examples", "images", name, "Dockerfile")
		var want []string
		for _, l := range stockBuild {
			// The stock image's context is the repository root; theirs is
			// their folder, with the root as the context "scaleout".
			if strings.HasPrefix(l, "COPY ") {
				l = "COPY --from=" + stack.WorkerSourcesContext + " " + strings.TrimPrefix(l, "COPY ")
			}
			want = append(want, l)
		}
		require.Equal(t, want, build(text), name)
		// The end: task user (an image may add to the ENV), user, folder,
		// stop signal, entry point.
		require.Equal(t, tail(stock, 4), tail(text, 4), name)
		require.Regexp(t, `(?m)^ENV SCALEOUT_TASK_USER=scaleout-task( |$)`, text, name)
		for _, id := range []string{"--uid 10001 --gid scaleout", "--uid 10002 --gid scaleout-task", "--gid 10001 scaleout", "--gid 10002 scaleout-task"} {
			require.Contains(t, text, id, name)
		}
		require.Contains(t, stock, "-u 10001 -G scaleout ", "the stock image's ids are the examples'")
		require.Contains(t, stock, "-u 10002 -G scaleout-task ")
		require.Contains(t, text, "setcap cap_chown,cap_dac_override,cap_fowner,cap_kill,cap_setgid,cap_setuid=ep /usr/local/bin/scaleout-worker", name)
		require.Contains(t, text, "docker build --platform linux/arm64 --build-context scaleout=. -t scaleout-worker-"+name+" examples/images/"+name, name)
	}
}

// TestCheckWorkerDockerfileFindsEachProblem: a working Dockerfile broken
// one way at a time fails with what to do.
func TestCheckWorkerDockerfileFindsEachProblem(t *testing.T) {
	t.Parallel()
	good := readFile(t, root, "examples", "images", "dbt", "Dockerfile")
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"no binary", "COPY --from=build /out/scaleout-worker /usr/local/bin/scaleout-worker", "",
			"the final stage copies no worker binary"},
		{"shell form", `ENTRYPOINT ["/usr/local/bin/scaleout-worker"]`, "ENTRYPOINT /usr/local/bin/scaleout-worker",
			"ENTRYPOINT in shell form runs a shell as PID 1"},
		{"no entry point", `ENTRYPOINT ["/usr/local/bin/scaleout-worker"]`, `CMD ["dbt"]`, "no ENTRYPOINT"},
		{"other entry point", `ENTRYPOINT ["/usr/local/bin/scaleout-worker"]`, `ENTRYPOINT ["dbt"]`,
			"ENTRYPOINT runs dbt, not the worker binary the image copies to /usr/local/bin/scaleout-worker"},
		{"root", "USER 10001:10001", "USER root", "USER root: the worker must not run as root"},
		{"no user", "USER 10001:10001", "", "no USER: the worker would run as root"},
		{"no task user", "ENV SCALEOUT_TASK_USER=scaleout-task ", "ENV ", "no ENV SCALEOUT_TASK_USER"},
		{"task user's uid", "--uid 10002", "--uid 10003", "SCALEOUT_TASK_USER=scaleout-task is not created with uid 10002"},
		{"no capabilities", "&& setcap cap_chown,cap_dac_override,cap_fowner,cap_kill,cap_setgid,cap_setuid=ep /usr/local/bin/scaleout-worker \\\n", "",
			"the worker binary gets no capabilities"},
		{"capabilities of before", "setcap cap_chown,cap_dac_override,cap_fowner,cap_kill,", "setcap cap_kill,",
			"setcap gives the worker binary no cap_chown, cap_dac_override, cap_fowner: without them it cannot hand the task user each run's scratch directory"},
		{"no removal", "cap_dac_override,cap_fowner,", "",
			"setcap gives the worker binary no cap_dac_override, cap_fowner"},
		{"secret env", "ENV PIP_NO_CACHE_DIR=1", "ENV PIP_NO_CACHE_DIR=1 DB_PASSWORD=hunter2", "ENV DB_PASSWORD: a secret"},
		{"secret arg", "ARG VERSION=", "ARG VERSION=\nARG GITHUB_TOKEN", "ARG GITHUB_TOKEN: a secret"},
		{"access key", "ARG VERSION=", "ARG VERSION=\nRUN echo AKIAABCDEFGHIJKLMNOP > /k", "RUN holds an AWS access key id"},
	} {
		require.Contains(t, good, tc.old, tc.name)
		err := stack.CheckWorkerDockerfile(strings.Replace(good, tc.old, tc.new, 1))
		require.ErrorContains(t, err, tc.want, tc.name)
		require.NotContains(t, err.Error(), "hunter2", tc.name)
	}
	require.ErrorContains(t, stack.CheckWorkerDockerfile("# nothing\n"), "no FROM")
}
