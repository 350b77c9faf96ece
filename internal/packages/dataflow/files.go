package dataflow

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ResolveFiles turns a file setting into paths inside dir (the run's
// scratch directory): spec is one name, a list of names, or a glob
// ("in/*.csv", "data-??.jsonl"); names are relative to dir. A name that
// leads outside dir (an absolute path elsewhere, "..", a symbolic link
// pointing out) is refused, as is a glob or name that matches no file.
// The paths come sorted, each once.
func ResolveFiles(dir string, spec any) ([]string, error) {
	var names []string
	switch x := spec.(type) {
	case string:
		names = []string{x}
	case []string:
		names = x
	default:
		l, ok := asList(spec)
		if !ok {
			return nil, fmt.Errorf("want a file name, a glob or a list of them, not %s", kind(spec))
		}
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want file names as strings, not %s", kind(e))
			}
			names = append(names, s)
		}
	}
	if len(names) == 0 {
		return nil, errors.New("no file named: give a file name, a glob or a list of them")
	}
	var out []string
	for _, name := range names {
		if hasGlob(name) {
			if _, err := filepath.Match(name, ""); err != nil {
				return nil, fmt.Errorf("glob %q: %v", name, err)
			}
			p, err := inside(dir, name)
			if err != nil {
				return nil, err
			}
			matches, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("glob %q: %v", name, err)
			}
			n := 0
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
					if err := checkLink(dir, m, name); err != nil {
						return nil, err
					}
					out = append(out, m)
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("glob %q matches no file in the scratch directory", name)
			}
			continue
		}
		p, err := ResolveFile(dir, name)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("file %q does not exist in the scratch directory", name)
		case err != nil:
			return nil, fmt.Errorf("file %q: %v", name, err)
		case st.IsDir():
			return nil, fmt.Errorf("%q is a directory: name a file or a glob such as %q", name, filepath.Join(name, "*"))
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ResolveFile is the path of one file name inside dir, which need not
// exist yet (a destination's file); it refuses names leading outside dir
// and globs.
func ResolveFile(dir, name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", errors.New("empty file name")
	}
	if hasGlob(name) {
		return "", fmt.Errorf("file %q: name one file, not a glob", name)
	}
	p, err := inside(dir, name)
	if err != nil {
		return "", err
	}
	if err := checkLink(dir, p, name); err != nil {
		return "", err
	}
	return p, nil
}

// inside joins name to dir and refuses a result outside dir.
func inside(dir, name string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("file %q: the run has no scratch directory", name)
	}
	base, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	p = filepath.Clean(p)
	if !within(base, p) {
		return "", fmt.Errorf("file %q is outside the scratch directory: name files relative to it, without \"..\" steps", name)
	}
	return p, nil
}

// checkLink refuses p when it exists and its real path (symbolic links
// followed) is outside dir's.
func checkLink(dir, p, name string) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		// A file yet to be written: its directory must be inside.
		real, err = filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return nil //nolint:nilerr // nothing exists yet to point outside
		}
		real = filepath.Join(real, filepath.Base(p))
	}
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("scratch directory: %v", err)
	}
	if !within(base, real) {
		return fmt.Errorf("file %q leads outside the scratch directory (a symbolic link)", name)
	}
	return nil
}

func within(base, p string) bool {
	rel, err := filepath.Rel(base, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func hasGlob(name string) bool { return strings.ContainsAny(name, "*?[") }
