package tasktypes

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/task"
)

func TestLookupRunAs(t *testing.T) {
	t.Parallel()
	r, err := LookupRunAs(" 10002:10003 ")
	require.NoError(t, err)
	require.Equal(t, uint32(10002), r.UID)
	require.Equal(t, uint32(10003), r.GID)
	require.Equal(t, "/", r.Home, "no passwd entry: HOME is /")

	for spec, want := range map[string]string{
		"0:0":                 "is root",
		"10002:0":             "is root",
		"root":                "is root",
		"a:b":                 "give a user name, or uid:gid",
		"no-such-user-scaleo": "unknown user",
	} {
		_, err := LookupRunAs(spec)
		require.ErrorContains(t, err, want, spec)
	}
}

// As another user an exec task keeps its clean environment, gets that
// user's ids and HOME, and cannot read the worker's environment: the
// uid switch needs root, so without it only the refusal is checked.
func TestExecRunsAsTaskUser(t *testing.T) {
	t.Parallel()
	self := &RunAs{Name: "me", UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
	require.ErrorContains(t, self.Check(), "the worker's own user")
	if os.Geteuid() != 0 {
		err := (&RunAs{Name: "other", UID: 10002, GID: 10002}).Check()
		require.ErrorContains(t, err, "cannot run exec tasks as another user")
		t.Skip("running exec tasks as another user needs root (or CAP_SETUID, CAP_SETGID, CAP_KILL): run as root to test the switch")
	}
	r := &RunAs{Name: "10002:10002", UID: 10002, GID: 10002, Home: "/"}
	require.NoError(t, r.Check())
	script := fmt.Sprintf(`id -u; id -g; id -G; echo "home=$HOME"; env; cat /proc/%d/environ && echo READ-WORKER-ENV || echo denied`, os.Getpid())
	// As the worker's own user the program reads the worker's environment.
	out, err := (&Exec{}).Run(context.Background(), task.Input{With: obj{"command": list("sh", "-c", script)}})
	require.NoError(t, err)
	require.Contains(t, out["stdout"], "READ-WORKER-ENV")

	out, err = (&Exec{RunAs: r}).Run(context.Background(), task.Input{With: obj{"command": list("sh", "-c", script)}})
	require.NoError(t, err)
	stdout := out["stdout"].(string)
	lines := strings.Split(stdout, "\n")
	require.Equal(t, "10002", lines[0])
	require.Equal(t, "10002", lines[1])
	require.Equal(t, "10002", lines[2], "no supplementary groups")
	require.Contains(t, stdout, "home=/\n")
	require.Contains(t, stdout, "denied")
	require.NotContains(t, stdout, "READ-WORKER-ENV")
}
