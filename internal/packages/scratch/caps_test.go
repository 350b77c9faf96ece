package scratch_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/scratch"
)

// The ids of the stock image's users: the worker and the task user.
const (
	workerUID = 10001
	taskUID   = 10002
)

// workerCaps are the capabilities the worker images give the worker
// binary (Dockerfile, examples/images/*, infra/ec2's unit): to start and
// stop tasks as the task user, to hand it the scratch directory, and to
// write in it and remove what the task left there, whatever its modes.
const workerCaps = "kill,setgid,setuid,chown,dac_override,fowner"

// TestWorkerWithItsCapabilitiesRemovesWhatTheTaskLeft runs the worker's
// part as the images do: a non-root user (10001) holding only workerCaps,
// with exec tasks as another user (10002). The task user writes nested
// directories, a read-only one, one without any permission and a sticky
// one; the worker writes a file of its own in the task user's directory
// (as an s3 get does); then the directory and all of it goes. With the
// capabilities the images gave before (kill, setgid, setuid: no chown),
// the worker cannot: this is what the new ones are for.
//
// It needs root (to become those users) and setpriv (util-linux).
func TestWorkerWithItsCapabilitiesRemovesWhatTheTaskLeft(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("the child's part runs in TestMain")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run as the worker's and the task's users")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
	// A place both users reach: the test binary and the root of the
	// scratch directories.
	shared, err := os.MkdirTemp("", "scratch-caps-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(shared) })
	require.NoError(t, os.Chmod(shared, 0o755))
	bin := filepath.Join(shared, "scratch.test")
	copyFile(t, os.Args[0], bin)
	root := filepath.Join(shared, "runs")
	require.NoError(t, os.Mkdir(root, 0o755))
	require.NoError(t, os.Chown(root, workerUID, workerUID))

	run := func(caps string) (string, error) {
		set := "+" + strings.ReplaceAll(caps, ",", ",+")
		cmd := exec.Command(setpriv, "--reuid", fmt.Sprint(workerUID), "--regid", fmt.Sprint(workerUID), "--clear-groups",
			"--inh-caps", set, "--ambient-caps", set, "--", bin)
		cmd.Env = append(os.Environ(), childEnv+"="+root)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run(workerCaps)
	require.NoError(t, err, out)
	require.Contains(t, out, "removed ")
	left, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Empty(t, left, "nothing of the run is left")

	out, err = run("kill,setgid,setuid")
	require.Error(t, err, "without chown, dac_override and fowner the worker cannot remove it: %s", out)
	require.Contains(t, out, "permission denied")
}

const childEnv = "SCALEOUT_SCRATCH_CAPS_CHILD"

func TestMain(m *testing.M) {
	if root := os.Getenv(childEnv); root != "" {
		if err := workerPart(root); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// workerPart is the worker's side, in the child: a scratch directory for
// the task user, a task that leaves awkward things, a file of the
// worker's own, then Remove.
func workerPart(root string) error {
	d, err := scratch.New(scratch.Options{Root: root, Owner: &scratch.Owner{UID: taskUID, GID: taskUID}}, "caps-1")
	if err != nil {
		return err
	}
	task := exec.Command("/bin/sh", "-c", `set -e
mkdir -p deep/er/est && echo x > deep/er/est/f && chmod 0500 deep/er/est deep/er
mkdir none && echo y > none/f && chmod 0 none
mkdir sticky && chmod 1777 sticky && echo z > sticky/f && chmod 0400 sticky/f
echo w > top && chmod 0400 top`)
	task.Dir = d.Path
	task.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: taskUID, Gid: taskUID, Groups: []uint32{}}}
	if out, err := task.CombinedOutput(); err != nil {
		return fmt.Errorf("the task as uid %d: %w: %s", taskUID, err, out)
	}
	if err := os.WriteFile(filepath.Join(d.Path, "from-s3.csv"), []byte("1,a\n"), 0o644); err != nil {
		return fmt.Errorf("the worker writes in the task user's directory: %w", err)
	}
	if err := d.Remove(); err != nil {
		return err
	}
	if _, err := os.Lstat(d.Path); !os.IsNotExist(err) {
		return fmt.Errorf("%s is still there (%v)", d.Path, err)
	}
	fmt.Println("removed", d.Path)
	return nil
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	require.NoError(t, err)
	defer in.Close() //nolint:errcheck // only read
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}
