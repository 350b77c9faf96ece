package tasktypes

import (
	"errors"

	"github.com/scaleout/scaleout/pkg/task"
)

// Register adds the built-in types to r: exec, http, sleep, fail and set.
// The http type gets a client of its own (see NewHTTP). The error names
// any type whose name r had already.
func Register(r *task.Registry) error {
	var errs []error
	for _, b := range []struct {
		name string
		t    task.Type
	}{
		{"exec", &Exec{}},
		{"http", NewHTTP()},
		{"sleep", Sleep{}},
		{"fail", Fail{}},
		{"set", Set{}},
	} {
		errs = append(errs, r.Register(b.name, b.t))
	}
	return errors.Join(errs...)
}

// NewRegistry returns a registry with every built-in type.
func NewRegistry() *task.Registry {
	r := task.NewRegistry()
	// An empty registry takes every name: Register cannot fail here.
	_ = Register(r)
	return r
}
