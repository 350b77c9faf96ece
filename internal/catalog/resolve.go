package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

// Resolved is what an execution needs from the catalog.
type Resolved struct {
	// Definition is the package as canonical JSON, the project's
	// parameters and connections merged in (see Bundle.Parameters and
	// Bundle.Connections), and parameters bound to sensitive environment
	// variables marked sensitive.
	Definition json.RawMessage
	// Params are the bound values: a given value wins over an
	// environment-bound one, which wins over the default.
	Params map[string]any
	// Sensitive names the sensitive parameters, sorted.
	Sensitive []string
	// ProjectVersion is the version the package came from.
	ProjectVersion int
}

// Resolve finds a package of a project's latest version and binds its
// parameters for an execution. With env, the environment must be one of
// the project's references (a Folder left empty means the project's
// folder); each parameter bound to one of its variables takes that
// variable's value, converted to the parameter's type. given values
// (JSON-like, as from the HTTP API) override those.
//
// Errors: a *NotFoundError for an unknown folder, project, package or
// environment; a *ValidationError (ErrInvalid) for an environment that is
// not referenced, a binding to a variable the environment lacks, an
// environment value of the wrong type for its parameter, an unknown given
// parameter, a missing required one or one of the wrong type, listing
// every problem. No message holds a sensitive value.
func (s *Catalog) Resolve(ctx context.Context, folder, project, pkg string, env *EnvRef, given map[string]any) (Resolved, error) {
	if err := checkNames("folder", folder, "project", project, "package", pkg); err != nil {
		return Resolved{}, err
	}
	p, err := s.project(ctx, folder, project)
	if err != nil {
		return Resolved{}, err
	}
	b, v, err := s.bundle(ctx, p, 0)
	if err != nil {
		return Resolved{}, err
	}
	text, ok := b.Packages[pkg]
	if !ok {
		return Resolved{}, notFoundNear("package", folder+"/"+project+"/"+pkg, pkg, slices.Collect(maps.Keys(b.Packages)), true)
	}
	def, ps := loadPackage(pkg, text, declsOf(b), s.types, false)
	if len(ps) > 0 {
		return Resolved{}, fmt.Errorf("project %s/%s version %d no longer validates: %w", folder, project, v.Version, ps.err())
	}

	typed := map[string]any{}
	if env != nil {
		ref := refIn(*env, folder)
		if err := checkNames("environment.folder", ref.Folder, "environment.environment", ref.Environment); err != nil {
			return Resolved{}, err
		}
		if !slices.Contains(p.References, ref) {
			refs := make([]string, len(p.References))
			for i, r := range p.References {
				refs[i] = r.String()
			}
			known := "it references none: add the reference first"
			if len(refs) > 0 {
				known = "it references " + strings.Join(refs, ", ")
			}
			return Resolved{}, invalid("environment", "project %s/%s does not reference environment %s (%s)", folder, project, ref, known)
		}
		values, err := s.openEnvironment(ctx, ref)
		if err != nil {
			return Resolved{}, err
		}
		var bps problems
		for _, param := range slices.Sorted(maps.Keys(p.Bindings)) {
			decl, declared := def.Parameters[param]
			if !declared {
				continue // bound for another package
			}
			variable := p.Bindings[param]
			ev, ok := values[variable]
			if !ok {
				bps.add(pkg, "parameters."+param, "bound to variable %q, which environment %s does not have: add it to the environment, or bind the parameter again%s",
					variable, ref, knownList("it has", variable, slices.Sorted(maps.Keys(values))))
				continue
			}
			if _, isGiven := given[param]; isGiven {
				continue
			}
			val, err := pkgfile.Convert(decl.Type, ev.Value)
			if err != nil {
				bps.add(pkg, "parameters."+param, "bound to variable %q of environment %s, of type %s: %v: change the variable, or bind the parameter again", variable, ref, ev.Type, err)
				continue
			}
			typed[param] = val
			if ev.Sensitive && !decl.Sensitive {
				decl.Sensitive = true
				def.Parameters[param] = decl
			}
		}
		if err := bps.err(); err != nil {
			return Resolved{}, err
		}
	}
	for k, val := range given {
		typed[k] = val
	}
	params, err := pkgfile.Bind(def, nil, typed)
	if err != nil {
		var ve *pkgfile.ValidationError
		if errors.As(err, &ve) {
			return Resolved{}, fromPkgfile(pkg, err, nil).err()
		}
		return Resolved{}, err
	}
	canonical, err := json.Marshal(def)
	if err != nil {
		return Resolved{}, fmt.Errorf("encode package %s: %w", pkg, err)
	}
	var sensitive []string
	for name, decl := range def.Parameters {
		if decl.Sensitive {
			sensitive = append(sensitive, name)
		}
	}
	slices.Sort(sensitive)
	return Resolved{Definition: canonical, Params: params, Sensitive: sensitive, ProjectVersion: v.Version}, nil
}
