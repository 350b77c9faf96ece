package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Variable is one typed environment variable.
type Variable = scaleouttype.Variable

// EnvironmentInput is what creating or updating an environment sends.
type EnvironmentInput = scaleouttype.EnvironmentInput

// Environment is a named set of variables in a folder, which projects that
type Environment = scaleouttype.Environment

// sealContext is the encryption context of a sensitive value: it can only
// be opened as that variable of that environment.
func sealContext(folder, env, variable string) map[string]string {
	return map[string]string{"folder": folder, "environment": env, "variable": variable}
}

// public is the environment as callers see it: sensitive values left out.
func public(it EnvironmentRecord) (Environment, error) {
	out := Environment{Folder: it.Folder, Name: it.Name, Description: it.Description, Revision: it.Revision,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, Variables: map[string]Variable{}}
	for name, v := range it.Variables {
		pv := Variable{Type: pkgfile.Type(v.Type), Sensitive: v.Sensitive, Description: v.Description}
		if !v.Sensitive {
			val, err := decodeValue(pkgfile.Type(v.Type), []byte(v.Value))
			if err != nil {
				return Environment{}, fmt.Errorf("environment %s/%s variable %s: %w", it.Folder, it.Name, name, err)
			}
			pv.Value = val
		}
		out.Variables[name] = pv
	}
	return out, nil
}

func decodeValue(t pkgfile.Type, data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode stored value: %w", err)
	}
	return pkgfile.Convert(t, v)
}

// variables checks and converts the variables of an input, seals the
// sensitive ones, and keeps the stored sealed value of a sensitive
// variable given without a value (callers never see it, so they cannot
// send it back) when old has it with the same type.
func (s *Catalog) variables(ctx context.Context, folder, env string, in map[string]Variable, old map[string]StoredVariable) (map[string]StoredVariable, error) {
	var ps problems
	if len(in) > MaxVariables {
		ps.add("", "variables", "%d variables, at most %d", len(in), MaxVariables)
	}
	out := make(map[string]StoredVariable, len(in))
	for _, name := range slices.Sorted(maps.Keys(in)) {
		v := in[name]
		at := "variables." + name
		if !identifier.MatchString(name) {
			ps.add("", fmt.Sprintf("variables[%q]", clip(name)), "name: use letters, digits and '_', starting with a letter or '_'")
			continue
		}
		if len(v.Description) > MaxDescription {
			ps.add("", at+".description", "%d bytes, at most %d", len(v.Description), MaxDescription)
		}
		if !slices.Contains(pkgfile.Types, v.Type) {
			ps.add("", at+".type", "unknown type %q (known: %s)", clip(string(v.Type)), typeNames())
			continue
		}
		it := StoredVariable{Type: string(v.Type), Sensitive: v.Sensitive, Description: v.Description}
		if v.Value == nil {
			if prev, ok := old[name]; ok && v.Sensitive && prev.Sensitive && prev.Type == it.Type {
				it.Sealed = prev.Sealed
				out[name] = it
				continue
			}
			ps.add("", at+".value", "missing: give a value of type %s", v.Type)
			continue
		}
		val, err := pkgfile.Convert(v.Type, v.Value)
		if err != nil {
			if v.Sensitive {
				ps.add("", at+".value", "%v", err)
			} else {
				ps.add("", at+".value", "%v", mismatchPlain(v.Type, v.Value, err))
			}
			continue
		}
		data, err := json.Marshal(val)
		if err != nil {
			ps.add("", at+".value", "cannot be stored: %v", err)
			continue
		}
		if len(data) > MaxValueSize {
			ps.add("", at+".value", "%d bytes as JSON, at most %d", len(data), MaxValueSize)
			continue
		}
		if v.Sensitive {
			sealed, err := s.sealer.Seal(ctx, data, sealContext(folder, env, name))
			if err != nil {
				return nil, fmt.Errorf("seal variable %s of environment %s/%s: %w", name, folder, env, err)
			}
			it.Sealed = sealed
		} else {
			it.Value = string(data)
		}
		out[name] = it
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// mismatchPlain is pkgfile's message with the (non-sensitive) value shown.
func mismatchPlain(t pkgfile.Type, v any, err error) string {
	b, jerr := json.Marshal(v)
	if jerr != nil || len(b) > 64 {
		return err.Error()
	}
	return strings.Replace(err.Error(), "got a value of another type", "got "+string(b), 1)
}

// CreateEnvironment creates an environment in a folder; ErrExists if the
// name is taken there.
func (s *Catalog) CreateEnvironment(ctx context.Context, folder, name string, in EnvironmentInput) (Environment, error) {
	var ps problems
	ps.name("folder", folder)
	ps.name("environment", name)
	ps.description(in.Description)
	if err := ps.err(); err != nil {
		return Environment{}, err
	}
	vars, err := s.variables(ctx, folder, name, in.Variables, nil)
	if err != nil {
		return Environment{}, err
	}
	now := s.clock()
	it := EnvironmentRecord{Folder: folder, Name: name, Description: in.Description, Variables: vars, Revision: 1,
		CreatedAt: now, UpdatedAt: now}
	err = s.st.CreateEnvironment(ctx, it)
	if err != nil {
		return Environment{}, s.missing(ctx, err, KindFolder, folder, "")
	}
	return public(it)
}

// UpdateEnvironment replaces an environment's description and variables.
// A sensitive variable sent without a value keeps its stored value. The
// write is conditional on the revision read: a concurrent update makes it
// fail with ErrConflict.
func (s *Catalog) UpdateEnvironment(ctx context.Context, folder, name string, in EnvironmentInput) (Environment, error) {
	var ps problems
	ps.description(in.Description)
	if err := ps.err(); err != nil {
		return Environment{}, err
	}
	old, err := s.env(ctx, folder, name)
	if err != nil {
		return Environment{}, err
	}
	vars, err := s.variables(ctx, folder, name, in.Variables, old.Variables)
	if err != nil {
		return Environment{}, err
	}
	it := old
	it.Description, it.Variables, it.Revision, it.UpdatedAt = in.Description, vars, old.Revision+1, s.clock()
	if err := s.st.UpdateEnvironment(ctx, it); err != nil {
		return Environment{}, err
	}
	return public(it)
}

func (s *Catalog) env(ctx context.Context, folder, name string) (EnvironmentRecord, error) {
	if err := checkNames("folder", folder, "environment", name); err != nil {
		return EnvironmentRecord{}, err
	}
	it, err := s.st.GetEnvironment(ctx, folder, name)
	if err != nil {
		return EnvironmentRecord{}, s.missing(ctx, err, KindEnvironment, folder, name)
	}
	return it, nil
}

// GetEnvironment reads an environment; sensitive values are left out.
func (s *Catalog) GetEnvironment(ctx context.Context, folder, name string) (Environment, error) {
	it, err := s.env(ctx, folder, name)
	if err != nil {
		return Environment{}, err
	}
	return public(it)
}

// Environments lists a folder's environments by name; sensitive values are
// left out.
func (s *Catalog) Environments(ctx context.Context, folder string) ([]Environment, error) {
	if _, err := s.GetFolder(ctx, folder); err != nil {
		return nil, err
	}
	items, err := s.st.Environments(ctx, folder)
	if err != nil {
		return nil, err
	}
	out := make([]Environment, 0, len(items))
	for _, it := range items {
		e, err := public(it)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// DeleteEnvironment deletes an environment and lowers its folder's count,
// atomically. Projects that reference it fail to resolve with it
// afterwards.
func (s *Catalog) DeleteEnvironment(ctx context.Context, folder, name string) error {
	if err := checkNames("folder", folder, "environment", name); err != nil {
		return err
	}
	return s.missing(ctx, s.st.DeleteEnvironment(ctx, folder, name), KindEnvironment, folder, name)
}

// envValue is an environment variable's value, opened.
type envValue struct {
	Type      pkgfile.Type
	Value     any
	Sensitive bool
}

// openEnvironment reads an environment with its sensitive values opened,
// for resolution only: these values must never be returned to a caller.
func (s *Catalog) openEnvironment(ctx context.Context, ref EnvRef) (map[string]envValue, error) {
	it, err := s.env(ctx, ref.Folder, ref.Environment)
	if err != nil {
		return nil, err
	}
	out := make(map[string]envValue, len(it.Variables))
	for name, v := range it.Variables {
		val, err := s.openVariable(ctx, ref, name, v)
		if err != nil {
			return nil, err
		}
		out[name] = val
	}
	return out, nil
}

// openVariable decodes a stored variable, opening it if it is sensitive:
// for resolution and checks only, never returned to a caller.
func (s *Catalog) openVariable(ctx context.Context, ref EnvRef, name string, v StoredVariable) (envValue, error) {
	data := []byte(v.Value)
	if v.Sensitive {
		var err error
		data, err = s.sealer.Open(ctx, v.Sealed, sealContext(ref.Folder, ref.Environment, name))
		if err != nil {
			return envValue{}, fmt.Errorf("environment %s variable %s: %w", ref, name, err)
		}
	}
	val, err := decodeValue(pkgfile.Type(v.Type), data)
	if err != nil {
		return envValue{}, fmt.Errorf("environment %s variable %s: %w", ref, name, err)
	}
	return envValue{Type: pkgfile.Type(v.Type), Value: val, Sensitive: v.Sensitive}, nil
}
