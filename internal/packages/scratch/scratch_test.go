package scratch_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/scratch"
)

func TestNewAndRemove(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "runs")
	a, err := scratch.New(scratch.Options{Root: root}, "01a2-attempt-1")
	require.NoError(t, err)
	b, err := scratch.New(scratch.Options{Root: root}, "01a2-attempt-1")
	require.NoError(t, err)
	require.NotEqual(t, a.Path, b.Path, "every attempt its own")
	require.True(t, strings.HasPrefix(filepath.Base(a.Path), "01a2-attempt-1-"), a.Path)
	require.Equal(t, root, filepath.Dir(a.Path))
	fi, err := os.Stat(a.Path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())

	// What a task leaves, read-only parts too, goes.
	ro := filepath.Join(a.Path, "out", "locked")
	require.NoError(t, os.MkdirAll(ro, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ro, "f"), []byte("x"), 0o400))
	require.NoError(t, os.Chmod(ro, 0o500))
	require.NoError(t, a.Remove())
	_, err = os.Stat(a.Path)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, a.Remove(), "gone already")
	require.DirExists(t, b.Path, "the other attempt's stays")
}

func TestNamesAreCleaned(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, name := range []string{"../../etc", "a/b", "", ".."} {
		d, err := scratch.New(scratch.Options{Root: root}, name)
		require.NoError(t, err, name)
		require.Equal(t, root, filepath.Dir(d.Path), "%q stays under the root", name)
	}
}

func TestRootNotWritable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	parent := t.TempDir()
	require.NoError(t, os.Chmod(parent, 0o500))
	t.Cleanup(func() { _ = os.Chmod(parent, 0o700) })
	_, err := scratch.New(scratch.Options{Root: filepath.Join(parent, "runs")}, "x")
	require.ErrorContains(t, err, "set SCALEOUT_SCRATCH_DIR to a writable directory")
}

func TestRootIsAFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := scratch.New(scratch.Options{Root: file}, "x")
	require.ErrorContains(t, err, "set SCALEOUT_SCRATCH_DIR to a writable directory")
}

func TestOwner(t *testing.T) {
	t.Parallel()
	d, err := scratch.New(scratch.Options{Root: t.TempDir(), Owner: &scratch.Owner{UID: 12345, GID: 12346}}, "x")
	require.NoError(t, err)
	fi, err := os.Stat(d.Path)
	require.NoError(t, err)
	st, ok := fi.Sys().(*syscall.Stat_t)
	require.True(t, ok)
	if os.Geteuid() == 0 {
		require.Equal(t, []uint32{12345, 12346}, []uint32{st.Uid, st.Gid}, "the task user's")
	} else {
		require.Equal(t, os.FileMode(0o777), fi.Mode().Perm(), "open to the task user, as chown is not allowed")
	}
	require.NoError(t, d.Remove())
}
