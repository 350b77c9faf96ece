package pkgrun_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/packages/pkgrun"
	"github.com/scaleout/scaleout/internal/packages/scratch"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestScratchDirectory runs executions through the worker's Runner: each
// attempt's exec tasks start in a directory of its own under the root, and
// the directory is gone when the attempt ends, after a success, a failure
// and a stop alike.
func TestScratchDirectory(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	root := filepath.Join(t.TempDir(), "runs")
	r := pkgrun.Runner{
		Types:    tasktypes.NewRegistry(),
		Messages: messages.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name),
		Scratch:  scratch.Options{Root: root},
	}
	// Each program writes where it started to a file outside the
	// directory, so the test can read it after the directory is gone.
	seen := t.TempDir()
	for _, tc := range []struct {
		name   string
		script string
		stop   bool
		want   execution.Status
	}{
		{"succeeds", "echo data > made.txt && test -s made.txt", false, execution.Succeeded},
		{"fails", "echo data > made.txt; exit 3", false, execution.Failed},
		{"is stopped", "echo data > made.txt; sleep 30", true, execution.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(seen, strings.ReplaceAll(tc.name, " ", "-"))
			e := execution.Execution{
				ID: uuid.Must(uuid.NewV7()).String(), Attempt: 2, Package: "scratch",
				Definition: pkgrun.CommandDefinition("scratch", []string{"sh", "-c", "pwd > " + out + "; " + tc.script}),
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.stop {
				go func() {
					// Stop once the program has started (it wrote where).
					for ctx.Err() == nil {
						if b, _ := os.ReadFile(out); len(b) > 0 {
							cancel()
							return
						}
						time.Sleep(10 * time.Millisecond)
					}
				}()
			}
			res := r.Run(ctx, e)
			require.Equal(t, tc.want, res.Status, res.Error)
			cwd, err := os.ReadFile(out)
			require.NoError(t, err)
			dir := strings.TrimSpace(string(cwd))
			require.Equal(t, root, filepath.Dir(dir), "under the root")
			require.True(t, strings.HasPrefix(filepath.Base(dir), e.ID+"-2-"), "named after the execution and attempt: %s", dir)
			_, err = os.Stat(dir)
			require.ErrorIs(t, err, os.ErrNotExist, "removed when the attempt ended")
		})
	}
}

// TestScratchRootUnusable fails the execution with the reason.
func TestScratchRootUnusable(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	r := pkgrun.Runner{
		Types:    tasktypes.NewRegistry(),
		Messages: messages.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name),
		Scratch:  scratch.Options{Root: file},
	}
	res := r.Run(t.Context(), execution.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), Attempt: 1,
		Definition: pkgrun.CommandDefinition("x", []string{"true"}),
	})
	require.Equal(t, execution.Failed, res.Status)
	require.Contains(t, res.Error, "set SCALEOUT_SCRATCH_DIR to a writable directory")
}
