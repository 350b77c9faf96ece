package catalog

import (
	"context"
	"errors"
	"regexp"

	"github.com/scaleout/scaleout/scaleouttype"
)

// namePattern is execution.ValidName's rule, so that a catalog name can
// name an execution's folder, project and package.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// identifier is pkgfile's rule for parameter names; environment variables
// follow it too, so that a binding joins two names of the same kind.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// ValidName reports whether s may name a folder, project, package or
// environment: 1-128 letters, digits, '.', '_' or '-', starting with a
// letter or digit.
func ValidName(s string) bool { return namePattern.MatchString(s) }

func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// checkName adds a problem when s is not a valid name.
func (ps *problems) name(field, s string) {
	if !ValidName(s) {
		ps.add("", field, "%q: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", clip(s))
	}
}

func (ps *problems) ident(field, s, what string) {
	if !identifier.MatchString(s) {
		ps.add("", field, "%s %q: use letters, digits and '_', starting with a letter or '_'", what, clip(s))
	}
}

func checkNames(pairs ...string) error {
	var ps problems
	for i := 0; i+1 < len(pairs); i += 2 {
		ps.name(pairs[i], pairs[i+1])
	}
	return ps.err()
}

// names lists the names of a kind of item, for a "did you mean" hint: a
// failure to list gives none, since the hint must not turn a "not found"
// into an internal error.
func (s *Catalog) names(ctx context.Context, kind Kind, folder string) []string {
	names, err := s.st.Names(ctx, kind, folder)
	if err != nil {
		s.log.WarnContext(ctx, "catalog: listing names for a hint", "kind", kind, "folder", folder, "error", err)
		return nil
	}
	return names
}

// folderNotFound says that folder does not exist, with the closest
// existing folder as a suggestion.
func (s *Catalog) folderNotFound(ctx context.Context, folder string) error {
	return notFoundNear("folder", folder, folder, s.names(ctx, KindFolder, ""), false)
}

// childNotFound says that a project or environment of a folder does not
// exist: the folder when the folder is missing too, else the child, with
// the closest of the folder's children of that kind as a suggestion.
func (s *Catalog) childNotFound(ctx context.Context, kind Kind, folder, name string) error {
	if _, err := s.GetFolder(ctx, folder); errors.Is(err, scaleouttype.ErrNotFound) {
		return err
	}
	return notFoundNear(string(kind), folder+"/"+name, name, s.names(ctx, kind, folder), false)
}

// missing maps a Storage's ErrNotFound (about what a read names) to the
// catalog's *NotFoundError, with suggestions; other errors pass.
func (s *Catalog) missing(ctx context.Context, err error, kind Kind, folder, name string) error {
	if !errors.Is(err, scaleouttype.ErrNotFound) {
		return err
	}
	if kind == KindFolder {
		return s.folderNotFound(ctx, folder)
	}
	return s.childNotFound(ctx, kind, folder, name)
}
