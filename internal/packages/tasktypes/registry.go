package tasktypes

import (
	"errors"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// Isolation is how a worker keeps packages away from its own identity (its
// AWS credentials and secrets): where http tasks may connect, and which
// user exec tasks run as. The zero value is the default: http tasks never
// reach link-local and metadata addresses, exec tasks run as the worker's
// user with only InheritedEnv of its environment.
type Isolation struct {
	// HTTP configures the http type's client (its network policy).
	HTTP HTTPOptions
	// RunAs is the user exec tasks run as; nil: the worker's own.
	RunAs *RunAs
}

// Register adds the built-in types to r: exec, http, sleep, fail, set, sql,
// s3, bulk_insert and dataflow, with the default Isolation. The error names any type whose name r had
// already.
func Register(r *task.Registry) error { return RegisterWith(r, Isolation{}) }

// RegisterWith adds the built-in types to r, isolated as iso says. The
// http type gets a client of its own (see NewHTTPWith).
func RegisterWith(r *task.Registry, iso Isolation) error {
	var errs []error
	for _, b := range []struct {
		name string
		t    task.Type
	}{
		{"exec", &Exec{RunAs: iso.RunAs}},
		{"http", NewHTTPWith(iso.HTTP)},
		{"sleep", Sleep{}},
		{"fail", Fail{}},
		{"set", Set{}},
		{"sql", SQL{}},
		{"s3", &S3{}},
		{"bulk_insert", BulkInsert{}},
		{"dataflow", Dataflow{}},
	} {
		errs = append(errs, r.Register(b.name, b.t))
	}
	return errors.Join(errs...)
}

// NewRegistry returns a registry with every built-in type, isolated by
// default.
func NewRegistry() *task.Registry { return NewRegistryWith(Isolation{}) }

// NewRegistryWith returns a registry with every built-in type, isolated as
// iso says: what a worker runs packages with.
func NewRegistryWith(iso Isolation) *task.Registry {
	r := task.NewRegistry()
	// An empty registry takes every name: RegisterWith cannot fail here.
	_ = RegisterWith(r, iso)
	return r
}
