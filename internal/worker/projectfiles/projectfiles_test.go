package projectfiles_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/catalog/catalogmem"
	"github.com/scaleout/scaleout/internal/packages/pkgrun"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/worker/projectfiles"
	"github.com/scaleout/scaleout/scaleouttype"
)

// newCatalog is a catalog in memory, with folder "f".
func newCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	sealer, err := secrets.NewLocalSealer(key)
	require.NoError(t, err)
	cat, err := catalog.New(catalog.Config{Storage: catalogmem.New(), Types: tasktypes.NewRegistry(), Sealer: sealer})
	require.NoError(t, err)
	_, err = cat.CreateFolder(t.Context(), "f", "")
	require.NoError(t, err)
	return cat
}

const pkg = "name: p\ntasks:\n  - {name: t, type: exec, with: {command: [cat, sql/x.sql]}}\n"

// deploy deploys project p with files and returns its version.
func deploy(t *testing.T, cat *catalog.Catalog, files map[string]string) int {
	t.Helper()
	v, err := cat.Deploy(t.Context(), "f", "p", catalog.Bundle{Packages: map[string]string{"p": pkg}, Files: files}, "test")
	require.NoError(t, err)
	return v.Version
}

func newCache(t *testing.T, src projectfiles.Source, maxBytes int64) *projectfiles.Cache {
	t.Helper()
	c, err := projectfiles.New(src, projectfiles.Options{Root: t.TempDir(), MaxBytes: maxBytes})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// read returns the files under dir, path to content.
func read(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	}))
	return out
}

func TestFetchedOncePerVersion(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	files := map[string]string{"sql/x.sql": "SELECT 1", "conf/deep/a.txt": "a\n", "top.csv": "n\n1\n"}
	v := deploy(t, cat, files)
	c := newCache(t, cat, 0)
	ctx := t.Context()

	first, second := t.TempDir(), t.TempDir()
	paths, err := c.Place(ctx, pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: v}, first)
	require.NoError(t, err)
	require.Equal(t, []string{"conf/deep/a.txt", "sql/x.sql", "top.csv"}, paths)
	require.Equal(t, files, read(t, first))
	require.Equal(t, 1, c.Fetches(), "a miss fetches")

	// The first run changes its copy: the next gets the version as deployed.
	require.NoError(t, os.WriteFile(filepath.Join(first, "sql", "x.sql"), []byte("DROP TABLE t"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(first, "top.csv")))
	_, err = c.Place(ctx, pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: v}, second)
	require.NoError(t, err)
	require.Equal(t, files, read(t, second))
	require.Equal(t, 1, c.Fetches(), "a hit does not fetch")
	fi, err := os.Stat(filepath.Join(second, "sql", "x.sql"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "readable by a task user of its own")

	// A new version is fetched; the old one is still cached.
	v2 := deploy(t, cat, map[string]string{"sql/x.sql": "SELECT 2"})
	third := t.TempDir()
	_, err = c.Place(ctx, pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: v2}, third)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"sql/x.sql": "SELECT 2"}, read(t, third))
	_, err = c.Place(ctx, pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: v}, t.TempDir())
	require.NoError(t, err)
	require.Equal(t, 2, c.Fetches())

	// An inline package (version 0) has no files and fetches nothing.
	empty := t.TempDir()
	paths, err = c.Place(ctx, pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: 0}, empty)
	require.NoError(t, err)
	require.Empty(t, paths)
	require.Empty(t, read(t, empty))
	require.Equal(t, 2, c.Fetches())
}

func TestConcurrentRunsShareOneFetch(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	v := deploy(t, cat, map[string]string{"sql/x.sql": "SELECT 1"})
	c := newCache(t, cat, 0)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			dir := t.TempDir()
			_, err := c.Place(t.Context(), pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: v}, dir)
			require.NoError(t, err)
			require.Equal(t, map[string]string{"sql/x.sql": "SELECT 1"}, read(t, dir))
		})
	}
	wg.Wait()
	require.Equal(t, 1, c.Fetches())
}

// The cache stays under its bound: the least recently used version goes,
// its directory with it, and is fetched again when a run needs it.
func TestEviction(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	big := strings.Repeat("x", 600)
	v1 := deploy(t, cat, map[string]string{"a.txt": big})
	v2 := deploy(t, cat, map[string]string{"b.txt": big})
	v3 := deploy(t, cat, map[string]string{"c.txt": big})
	c := newCache(t, cat, 1300) // two versions fit
	ctx := t.Context()
	place := func(v int) {
		t.Helper()
		_, err := c.Place(ctx, pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: v}, t.TempDir())
		require.NoError(t, err)
	}
	entries := func() int {
		t.Helper()
		es, err := os.ReadDir(c.Dir())
		require.NoError(t, err)
		return len(es)
	}
	place(v1)
	place(v2)
	place(v1) // v1 is now the most recently used
	require.Equal(t, 2, c.Fetches())
	place(v3) // evicts v2
	require.Equal(t, 3, c.Fetches())
	require.Equal(t, int64(1200), c.Size())
	require.Equal(t, 2, entries(), "the evicted version's directory is removed")
	place(v1)
	require.Equal(t, 3, c.Fetches(), "v1 stayed")
	place(v2)
	require.Equal(t, 4, c.Fetches(), "v2 was evicted")

	// A version larger than the whole cache is placed but not kept.
	huge := deploy(t, cat, map[string]string{"h.txt": strings.Repeat("y", 2000)})
	dir := t.TempDir()
	_, err := c.Place(ctx, pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: huge}, dir)
	require.NoError(t, err)
	require.Len(t, read(t, dir)["h.txt"], 2000)
	_, err = c.Place(ctx, pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: huge}, t.TempDir())
	require.NoError(t, err)
	require.Equal(t, 6, c.Fetches())
	require.LessOrEqual(t, c.Size(), int64(1300))
}

func TestUnknownVersion(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	deploy(t, cat, nil)
	c := newCache(t, cat, 0)
	_, err := c.Place(t.Context(), pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: 7}, t.TempDir())
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	require.ErrorContains(t, err, "project files of f/p version 7")
	_, err = c.Place(t.Context(), pkgrun.ProjectVersion{Folder: "f", Project: "q", Version: 1}, t.TempDir())
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	// Errors are not cached: once deployed, the version is found.
	_, err = cat.Deploy(t.Context(), "f", "q", catalog.Bundle{Packages: map[string]string{"p": pkg}, Files: map[string]string{"a": "b"}}, "")
	require.NoError(t, err)
	_, err = c.Place(t.Context(), pkgrun.ProjectVersion{Folder: "f", Project: "q", Version: 1}, t.TempDir())
	require.NoError(t, err)
}

// A project deleted and deployed again numbers its versions anew: an
// execution of the old version 1 never gets the new version 1's files,
// from the cache or from the catalog, and one of the new version gets its
// own.
func TestRedeployedProjectIsAnotherVersion(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	ctx := t.Context()
	deploy(t, cat, map[string]string{"sql/x.sql": "SELECT 'old'"})
	old, err := cat.Resolve(ctx, "f", "p", "p", nil, nil)
	require.NoError(t, err)
	require.NotEmpty(t, old.ProjectUID)
	oldV := pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: old.ProjectVersion, UID: old.ProjectUID}
	c := newCache(t, cat, 0)
	dir := t.TempDir()
	_, err = c.Place(ctx, oldV, dir)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"sql/x.sql": "SELECT 'old'"}, read(t, dir))

	require.NoError(t, cat.DeleteProject(ctx, "f", "p"))
	deploy(t, cat, map[string]string{"sql/x.sql": "SELECT 'new'"})
	cur, err := cat.Resolve(ctx, "f", "p", "p", nil, nil)
	require.NoError(t, err)
	require.Equal(t, old.ProjectVersion, cur.ProjectVersion, "numbered anew")
	require.NotEqual(t, old.ProjectUID, cur.ProjectUID)

	dir = t.TempDir()
	_, err = c.Place(ctx, pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: cur.ProjectVersion, UID: cur.ProjectUID}, dir)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"sql/x.sql": "SELECT 'new'"}, read(t, dir), "not the cached old version 1")

	c2 := newCache(t, cat, 0)
	_, err = c2.Place(ctx, oldV, t.TempDir())
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	require.ErrorContains(t, err, "deleted and deployed again")
}

// hostile is a Source that gives paths the catalog refuses at deploy.
type hostile map[string]string

func (h hostile) Files(context.Context, string, string, int, string) (map[string]string, error) {
	return h, nil
}

// Paths that would leave the directory are refused, by the cache's own
// checks and by writing through an os.Root (a symbolic link a task left
// in its directory leads nowhere).
func TestPathsStayInside(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"../escape.txt", "/etc/escape.txt", "a/../../escape.txt", `a\b`, "", "./a"} {
		c := newCache(t, hostile{p: "x", "ok.txt": "fine"}, 0)
		parent := t.TempDir()
		dir := filepath.Join(parent, "run")
		require.NoError(t, os.Mkdir(dir, 0o700))
		_, err := c.Place(t.Context(), pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: 1}, dir)
		require.ErrorContains(t, err, "not a clean relative path", "%q", p)
		require.NoFileExists(t, filepath.Join(parent, "escape.txt"))
	}

	// A link in the run's directory (a task's, or a stale one) is not followed out.
	outside := t.TempDir()
	c := newCache(t, hostile{"link/x.txt": "x"}, 0)
	dir := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link")))
	_, err := c.Place(t.Context(), pkgrun.ProjectVersion{Folder: "f", Project: "p", Version: 1}, dir)
	require.Error(t, err)
	require.NoFileExists(t, filepath.Join(outside, "x.txt"))
}

func TestNewChecks(t *testing.T) {
	t.Parallel()
	_, err := projectfiles.New(nil, projectfiles.Options{})
	require.ErrorContains(t, err, "no source")
	_, err = projectfiles.New(hostile{}, projectfiles.Options{Root: t.TempDir(), MaxBytes: -1})
	require.ErrorContains(t, err, "must not be negative")
}
