package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/suggest"
	"github.com/scaleout/scaleout/scaleouttype"
)

// MaxBindings is the most bindings a project holds.
const MaxBindings = 500

// BindingChanges says what a change of a project's bindings did, each
type BindingChanges = scaleouttype.BindingChanges

// BindingChange is a parameter bound to another variable.
type BindingChange = scaleouttype.BindingChange

// diffBindings says how next differs from old.
func diffBindings(old, next map[string]string) BindingChanges {
	c := BindingChanges{Added: map[string]string{}, Changed: map[string]BindingChange{},
		Removed: map[string]string{}, Unchanged: []string{}}
	for _, param := range slices.Sorted(maps.Keys(next)) {
		was, ok := old[param]
		switch {
		case !ok:
			c.Added[param] = next[param]
		case was != next[param]:
			c.Changed[param] = BindingChange{From: was, To: next[param]}
		default:
			c.Unchanged = append(c.Unchanged, param)
		}
	}
	for param, was := range old {
		if _, ok := next[param]; !ok {
			c.Removed[param] = was
		}
	}
	return c
}

// SetBindings replaces the project's parameter bindings: parameter name
// (of the project, or of any of its packages) to the name of a variable of
// the environment an execution is given. Every binding given is checked
// as a run would resolve it, against the project's latest version and
// every environment it references: the parameter must be declared, each
// referenced environment must have the variable, and the variable's value
// must be of a type each declaration of the parameter takes. Every problem
// is listed in a *ValidationError, with the names known. Bindings left out
// are removed; the answer says which, and what was added or changed.
//
// Like references, bindings are kept across deploys. A later change (a
// redeploy that drops the parameter, an environment update that drops the
// variable, a reference to another environment) is not refused: a binding
// of a parameter no package declares any more is ignored by runs, and one
// whose variable is missing fails the run that needs it, saying so.
func (s *Catalog) SetBindings(ctx context.Context, folder, project string, bindings map[string]string) (BindingChanges, error) {
	return s.changeBindings(ctx, folder, project, bindings, nil, true)
}

// PatchBindings changes some of the project's bindings and keeps the
// others: a parameter with a variable is bound to it (checked as
// SetBindings does), one with nil is unbound (it must be bound).
func (s *Catalog) PatchBindings(ctx context.Context, folder, project string, patch map[string]*string) (BindingChanges, error) {
	set := map[string]string{}
	var unset []string
	for param, variable := range patch {
		if variable == nil {
			unset = append(unset, param)
		} else {
			set[param] = *variable
		}
	}
	slices.Sort(unset)
	return s.changeBindings(ctx, folder, project, set, unset, false)
}

// changeBindings writes set (all the bindings with replace, else merged
// into the old ones) less unset. The write is conditional on the project's
// uid, latest version and configuration revision read, so that what was
// checked and the changes reported are what was replaced; the loser of a
// race reads again, checks again and retries.
func (s *Catalog) changeBindings(ctx context.Context, folder, project string, set map[string]string, unset []string, replace bool) (BindingChanges, error) {
	var ps problems
	ps.name("folder", folder)
	ps.name("project", project)
	for _, param := range slices.Sorted(maps.Keys(set)) {
		ps.ident(fmt.Sprintf("bindings[%q]", clip(param)), param, "parameter")
		ps.ident(fmt.Sprintf("bindings[%q]", clip(param)), set[param], "variable")
	}
	for _, param := range unset {
		ps.ident(fmt.Sprintf("bindings[%q]", clip(param)), param, "parameter")
	}
	if len(set)+len(unset) > MaxBindings {
		ps.add("", "bindings", "%d bindings, at most %d", len(set)+len(unset), MaxBindings)
	}
	if err := ps.err(); err != nil {
		return BindingChanges{}, err
	}
	what := folder + "/" + project
	for attempt := range changeAttempts {
		if err := retry(ctx, attempt); err != nil {
			return BindingChanges{}, err
		}
		p, err := s.project(ctx, folder, project)
		if err != nil {
			return BindingChanges{}, err
		}
		next := map[string]string{}
		if !replace {
			maps.Copy(next, p.Bindings)
		}
		maps.Copy(next, set)
		var ps problems
		for _, param := range unset {
			if _, ok := p.Bindings[param]; !ok {
				ps.add("", "bindings."+param, "parameter %s is not bound, so it cannot be unbound%s", param, knownList("bound", param, slices.Sorted(maps.Keys(p.Bindings))))
			}
			delete(next, param)
		}
		if len(next) > MaxBindings {
			ps.add("", "bindings", "%d bindings, at most %d", len(next), MaxBindings)
		}
		cps, err := s.checkBindings(ctx, p, set)
		if err != nil {
			return BindingChanges{}, err
		}
		if err := append(ps, cps...).err(); err != nil {
			return BindingChanges{}, err
		}
		err = s.st.SetConfig(ctx, p, p.References, next)
		if errors.Is(err, ErrConflict) {
			continue // deleted, deployed or configured meanwhile: read again
		}
		if err != nil {
			return BindingChanges{}, err
		}
		return diffBindings(p.Bindings, next), nil
	}
	return BindingChanges{}, fmt.Errorf("set bindings of project %s: %d attempts lost to concurrent changes: %w", what, changeAttempts, ErrConflict)
}

// declaration is a parameter as one package sees it.
type declaration struct {
	pkg  string
	decl pkgfile.Parameter
}

// checkBindings checks bindings as Resolve would bind them, for every
// package of the project's latest version and every environment it
// references. Sensitive values are opened to check their type; no problem
// holds one.
func (s *Catalog) checkBindings(ctx context.Context, p ProjectRecord, bindings map[string]string) (problems, error) {
	if len(bindings) == 0 {
		return nil, nil
	}
	what := p.Folder + "/" + p.Name
	b, v, err := s.bundle(ctx, p, 0)
	if err != nil {
		return nil, err
	}
	decls := map[string][]declaration{}
	for name := range b.Parameters {
		decls[name] = nil
	}
	for _, name := range slices.Sorted(maps.Keys(b.Packages)) {
		def, ps := loadPackage(name, b.Packages[name], declsOf(b), s.types, false)
		if len(ps) > 0 {
			return nil, fmt.Errorf("project %s version %d no longer validates: %w", what, v.Version, ps.err())
		}
		for param, decl := range def.Parameters {
			decls[param] = append(decls[param], declaration{pkg: name, decl: decl})
		}
	}
	known := slices.Sorted(maps.Keys(decls))

	var ps problems
	var declared []string
	for _, param := range slices.Sorted(maps.Keys(bindings)) {
		if _, ok := decls[param]; !ok {
			ps.add("", "bindings."+param, "project %s (version %d) has no parameter %q%s", what, v.Version, param, knownList("declared", param, known))
			continue
		}
		declared = append(declared, param)
	}
	if len(p.References) == 0 {
		ps.add("", "bindings", "project %s references no environment, so no variable can be checked: reference the environments first (PUT .../references), then bind", what)
		return ps, nil
	}
	for _, ref := range p.References {
		env, err := s.env(ctx, ref.Folder, ref.Environment)
		if errors.Is(err, scaleouttype.ErrNotFound) {
			ps.add("", "references", "project %s references environment %s, which no longer exists: set its references again", what, ref)
			continue
		}
		if err != nil {
			return nil, err
		}
		vars := slices.Sorted(maps.Keys(env.Variables))
		for _, param := range slices.Sorted(maps.Keys(bindings)) {
			variable := bindings[param]
			stored, ok := env.Variables[variable]
			if !ok {
				ps.add("", "bindings."+param, "environment %s has no variable %q%s", ref, variable, knownList("it has", variable, vars))
				continue
			}
			if !slices.Contains(declared, param) {
				continue
			}
			val, err := s.openVariable(ctx, ref, variable, stored)
			if err != nil {
				return nil, err
			}
			var misfits []string
			for _, d := range decls[param] {
				if _, err := pkgfile.Convert(d.decl.Type, val.Value); err != nil {
					msg := err.Error()
					if !val.Sensitive {
						msg = mismatchPlain(d.decl.Type, val.Value, err)
					}
					misfits = append(misfits, fmt.Sprintf("package %q declares it %s (%s)", d.pkg, d.decl.Type, msg))
				}
			}
			if len(misfits) > 0 {
				ps.add("", "bindings."+param, "variable %q of environment %s is of type %s, which the parameter cannot take: %s",
					variable, ref, val.Type, strings.Join(misfits, "; "))
			}
		}
	}
	return ps, nil
}

// none says there are no names, for each label of knownList.
var none = map[string]string{"bound": "no parameter is bound", "declared": "it declares none", "it has": "it has no variables"}

// knownList is ` (label: a, b, ...); did you mean "x"?`, the names cut
// at 30, or ` (none)` when there are none.
func knownList(label, name string, known []string) string {
	if len(known) == 0 {
		return " (" + none[label] + ")"
	}
	shown := known
	more := ""
	if len(shown) > 30 {
		shown, more = shown[:30], fmt.Sprintf(", and %d more", len(known)-30)
	}
	out := " (" + label + ": " + strings.Join(shown, ", ") + more + ")"
	if near := suggest.Closest(name, known); near != "" {
		out += fmt.Sprintf("; did you mean %q?", near)
	}
	return out
}
