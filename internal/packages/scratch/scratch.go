package scratch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultRoot is the root when none is configured: os.TempDir()/scaleout-runs.
func DefaultRoot() string { return filepath.Join(os.TempDir(), "scaleout-runs") }

// Owner is the user a directory is given to.
type Owner struct{ UID, GID int }

// Options say where directories are made and whose they are.
type Options struct {
	// Root holds the directories; empty is DefaultRoot(). It is made when
	// missing.
	Root string
	// Owner, when set, gets each directory (the task user exec tasks run
	// as); nil leaves it the process's.
	Owner *Owner
}

// Dir is one attempt's scratch directory.
type Dir struct {
	// Path is its absolute path.
	Path string
}

// New makes a fresh directory for an attempt, named after name (an
// execution id and attempt, say; characters other than letters, digits,
// '-', '_' and '.' become '_').
func New(o Options, name string) (*Dir, error) {
	root := o.Root
	if root == "" {
		root = DefaultRoot()
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("scratch directory root %q: %w", o.Root, err)
	}
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("scratch directory root %s: %w (set SCALEOUT_SCRATCH_DIR to a writable directory)", root, err)
	}
	p, err := os.MkdirTemp(root, clean(name)+"-")
	if err != nil {
		return nil, fmt.Errorf("making a scratch directory in %s: %w (set SCALEOUT_SCRATCH_DIR to a writable directory)", root, err)
	}
	if o.Owner != nil {
		if err := os.Chown(p, o.Owner.UID, o.Owner.GID); err != nil {
			// Without CAP_CHOWN: open it to all. Its name is random and the
			// root cannot be listed by others, so only who is told finds it.
			if err := os.Chmod(p, 0o777); err != nil { //nolint:gosec // see above
				_ = os.Remove(p)
				return nil, fmt.Errorf("opening the scratch directory %s to the task user %d:%d: %w", p, o.Owner.UID, o.Owner.GID, err)
			}
		}
	}
	return &Dir{Path: p}, nil
}

// Remove deletes the directory and all it holds, read-only parts
// included. Removing what is gone already is no error.
func (d *Dir) Remove() error {
	err := os.RemoveAll(d.Path)
	if err == nil {
		return nil
	}
	// A task may have left directories without write permission: open
	// them up, then try again.
	_ = filepath.WalkDir(d.Path, func(p string, e fs.DirEntry, werr error) error {
		if werr == nil && e.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	if err2 := os.RemoveAll(d.Path); err2 != nil {
		return fmt.Errorf("removing the scratch directory %s: %w", d.Path, errors.Join(err, err2))
	}
	return nil
}

func clean(name string) string {
	if name == "" {
		return "run"
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
	if len(name) > 100 {
		name = name[:100]
	}
	if strings.Trim(name, ".") == "" {
		return "run"
	}
	return name
}
