package dataflow

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Registry maps component type names (csv_source, derived_column, ...)
// to their Types. Component packages add theirs with a
// `func Register(r *Registry)`; package builtin gathers them all. It is
// safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	types map[string]Type
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]Type{}} }

var typeName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Register adds a type under name (lower case letters, digits and _);
// names are unique.
func (r *Registry) Register(name string, t Type) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case t == nil || !typeName.MatchString(name):
		return fmt.Errorf("dataflow: register needs a type and a name of lower case letters, digits and _, not %q", name)
	case r.types[name] != nil:
		return fmt.Errorf("dataflow: component type %q is registered already", name)
	}
	r.types[name] = t
	return nil
}

// MustRegister is Register for wiring built-in types; it panics on a
// programming error (a bad or duplicate name).
func (r *Registry) MustRegister(name string, t Type) {
	if err := r.Register(name, t); err != nil {
		panic(err)
	}
}

// ErrUnknownType is matched by Lookup's error for an unknown name.
var ErrUnknownType = errors.New("unknown component type")

// Lookup finds a type by name; the error lists the known ones, with a
// did-you-mean.
func (r *Registry) Lookup(name string) (Type, error) {
	r.mu.RLock()
	t, ok := r.types[name]
	r.mu.RUnlock()
	if ok {
		return t, nil
	}
	names := r.Names()
	return nil, fmt.Errorf("%w %q%s (known: %s)", ErrUnknownType, name, didYouMean(name, names), strings.Join(names, ", "))
}

// Names lists the registered types, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.types))
	for n := range r.types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Clone is a copy of r, to add types to (tests add their own).
func (r *Registry) Clone() *Registry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := NewRegistry()
	maps.Copy(c.types, r.types)
	return c
}
