package projectfiles

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/scaleout/scaleout/internal/packages/pkgrun"
)

// Source gives the files of a deployed project version: relative path
// ("sql/load.sql") to content. uid, when not empty, is the project's
// incarnation the version must belong to (a version of a project deleted
// since is not found). catalog.Catalog is one.
type Source interface {
	Files(ctx context.Context, folder, project string, version int, uid string) (map[string]string, error)
}

// DefaultMaxBytes bounds the cache when Options.MaxBytes is 0: 64 MiB, at
// least 256 versions of the catalog's largest (256 KB of files).
const DefaultMaxBytes = 64 << 20

// DefaultRoot is where caches live when Options.Root is empty.
func DefaultRoot() string { return filepath.Join(os.TempDir(), "scaleout-project-files") }

// Options configure a Cache.
type Options struct {
	// Root holds the cache's directory (one of its own, made by New and
	// removed by Close); empty is DefaultRoot().
	Root string
	// MaxBytes bounds the files kept, in bytes of content; 0 is
	// DefaultMaxBytes. A version larger than that is fetched for each run
	// and not kept.
	MaxBytes int64
	// Logger gets what cannot be returned (a failed removal); default
	// discard.
	Logger *slog.Logger
}

// key is a cached version: the project's incarnation (UID) is part of
// it, so a project deleted and deployed again never gets the old one's
// files for its version of the same number.
type key = pkgrun.ProjectVersion

// entry is one cached version: its files under dir.
type entry struct {
	key   key
	dir   string
	paths []string // sorted
	size  int64
	elem  *list.Element
	refs  int  // copies in progress
	gone  bool // evicted: dir is removed once refs is 0
}

// fetch is a fetch in flight, which others wanting the same version wait
// for.
type fetch struct {
	done  chan struct{}
	entry *entry // nil on error or when not kept
	files map[string]string
	err   error
}

// Cache keeps project versions' files on disk and copies them into runs'
// directories. It is safe for concurrent use.
type Cache struct {
	src  Source
	dir  string
	max  int64
	log  *slog.Logger
	mu   sync.Mutex
	byK  map[key]*entry
	lru  *list.List // front: most recently used
	size int64
	inFl map[key]*fetch
	seq  int
	// Fetches counts the Source reads (for tests and figures).
	fetches int
}

// New makes a cache over src, in a fresh directory under o.Root.
func New(src Source, o Options) (*Cache, error) {
	if src == nil {
		return nil, errors.New("project files: no source to fetch them from")
	}
	if o.MaxBytes < 0 {
		return nil, fmt.Errorf("project files: max bytes %d: must not be negative", o.MaxBytes)
	}
	root := o.Root
	if root == "" {
		root = DefaultRoot()
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("project files cache %s: %w", root, err)
	}
	dir, err := os.MkdirTemp(root, "cache-")
	if err != nil {
		return nil, fmt.Errorf("project files cache in %s: %w", root, err)
	}
	c := &Cache{src: src, dir: dir, max: o.MaxBytes, log: o.Logger, byK: map[key]*entry{}, lru: list.New(), inFl: map[key]*fetch{}}
	if c.max == 0 {
		c.max = DefaultMaxBytes
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Dir is the cache's own directory.
func (c *Cache) Dir() string { return c.dir }

// Fetches is how many times the cache read its Source.
func (c *Cache) Fetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}

// Size is the bytes of content the cache keeps now.
func (c *Cache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// Close removes the cache's directory. Place must not be called after.
func (c *Cache) Close() error { return os.RemoveAll(c.dir) }

// Place writes the files of folder/project version into dir (a run's
// scratch directory), fetching them the first time. Version 0 (a package
// sent inline, with no project) has none: Place does nothing. It returns
// the paths written, sorted.
func (c *Cache) Place(ctx context.Context, k pkgrun.ProjectVersion, dir string) ([]string, error) {
	if k.Version == 0 {
		return nil, nil
	}
	e, files, err := c.get(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("project files of %s: %w", k, err)
	}
	if e == nil {
		// Too large to keep: written from what was fetched.
		paths := slices.Sorted(maps.Keys(files))
		return paths, writeFiles(dir, paths, func(p string) ([]byte, error) { return []byte(files[p]), nil })
	}
	defer c.unref(e)
	src, err := os.OpenRoot(e.dir)
	if err != nil {
		return nil, fmt.Errorf("project files of %s: the cached copy: %w", k, err)
	}
	defer src.Close() //nolint:errcheck // only read
	if err := writeFiles(dir, e.paths, func(p string) ([]byte, error) { return src.ReadFile(filepath.FromSlash(p)) }); err != nil {
		return nil, fmt.Errorf("project files of %s: %w", k, err)
	}
	return e.paths, nil
}

// get returns the version's entry, referenced (the caller unrefs it), or,
// for a version too large to keep, its files.
func (c *Cache) get(ctx context.Context, k key) (*entry, map[string]string, error) {
	for {
		c.mu.Lock()
		if e, ok := c.byK[k]; ok {
			e.refs++
			c.lru.MoveToFront(e.elem)
			c.mu.Unlock()
			return e, nil, nil
		}
		if f, ok := c.inFl[k]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, nil, context.Cause(ctx)
			}
			if f.err != nil && ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				continue // the run that fetched was stopped, not this one: fetch again
			}
			if f.err != nil {
				return nil, nil, f.err
			}
			if f.entry == nil {
				return nil, f.files, nil
			}
			continue // kept: take a reference under the lock (it may be evicted already)
		}
		f := &fetch{done: make(chan struct{})}
		c.inFl[k] = f
		c.fetches++
		c.seq++
		seq := c.seq
		c.mu.Unlock()

		f.entry, f.files, f.err = c.load(ctx, k, seq)
		c.mu.Lock()
		delete(c.inFl, k)
		if f.entry != nil {
			f.entry.refs++
			c.add(f.entry)
		}
		c.mu.Unlock()
		close(f.done)
		return f.entry, f.files, f.err
	}
}

// load fetches a version and writes it under the cache's directory; a nil
// entry with the files when it is too large to keep.
func (c *Cache) load(ctx context.Context, k key, seq int) (*entry, map[string]string, error) {
	files, err := c.src.Files(ctx, k.Folder, k.Project, k.Version, k.UID)
	if err != nil {
		return nil, nil, err
	}
	paths := slices.Sorted(maps.Keys(files))
	var size int64
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			return nil, nil, err
		}
		size += int64(len(files[p]))
	}
	if size > c.max {
		return nil, files, nil
	}
	dir := filepath.Join(c.dir, fmt.Sprintf("v%d", seq))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("caching: %w", err)
	}
	if err := writeFiles(dir, paths, func(p string) ([]byte, error) { return []byte(files[p]), nil }); err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("caching: %w", err)
	}
	return &entry{key: k, dir: dir, paths: paths, size: size}, nil, nil
}

// add keeps e and evicts the least recently used entries beyond the
// bound. Called with mu held.
func (c *Cache) add(e *entry) {
	e.elem = c.lru.PushFront(e)
	c.byK[e.key] = e
	c.size += e.size
	for c.size > c.max {
		old := c.lru.Back().Value.(*entry) //nolint:forcetypeassert // only entries are listed
		if old == e {
			break
		}
		c.lru.Remove(old.elem)
		delete(c.byK, old.key)
		c.size -= old.size
		old.gone = true
		if old.refs == 0 {
			c.remove(old)
		}
	}
}

// unref ends a copy from e; an evicted entry's directory goes with its last
// copy.
func (c *Cache) unref(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.refs == 0 && e.gone {
		c.remove(e)
	}
}

func (c *Cache) remove(e *entry) {
	if err := os.RemoveAll(e.dir); err != nil {
		c.log.Warn("an evicted project version's files were not removed", "project_version", e.key.String(), "error", err)
	}
}

// checkPath refuses a path that is not a clean relative one staying in its
// directory (the catalog refuses them at deploy already).
func checkPath(p string) error {
	if p == "" || strings.Contains(p, `\`) || path.Clean(p) != p || !filepath.IsLocal(filepath.FromSlash(p)) {
		return fmt.Errorf("file %q: not a clean relative path inside the project", p)
	}
	return nil
}

// writeFiles writes each path, its content from read, under dir through an
// os.Root: neither a path nor a symbolic link already there leads out of
// it. Directories are made 0755 and files 0644, readable by a task user
// other than the worker's.
func writeFiles(dir string, paths []string, read func(string) ([]byte, error)) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close() //nolint:errcheck // the writes' errors are checked
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			return err
		}
		b, err := read(p)
		if err != nil {
			return fmt.Errorf("file %q: %w", p, err)
		}
		name := filepath.FromSlash(p)
		if d := filepath.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("file %q: %w", p, err)
			}
		}
		if err := root.WriteFile(name, b, 0o644); err != nil { //nolint:gosec // a task user of its own reads them
			return fmt.Errorf("file %q: %w", p, err)
		}
	}
	return nil
}
