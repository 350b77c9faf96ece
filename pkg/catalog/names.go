package catalog

import "regexp"

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
