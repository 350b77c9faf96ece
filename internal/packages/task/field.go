package task

import "github.com/scaleout/scaleout/internal/packages/connection"

// FieldError is a Check problem at one place under the task's `with`, so
// that package validation can give the line of that place (a dataflow
// component's entry, say) rather than the task's. Path is the keys
// (string) and list indexes (int) from `with` down, e.g.
// []any{"components", 2}.
type FieldError struct {
	Path []any
	Err  error
}

// Error is the problem's message (the validator adds the place).
func (e *FieldError) Error() string { return e.Err.Error() }

// Unwrap gives the problem.
func (e *FieldError) Unwrap() error { return e.Err }

// ConnectionRef is one connection a task's settings name, at Path under
// `with` (keys and list indexes, as FieldError's), and the kinds it may
// be of (empty: any).
type ConnectionRef struct {
	Path  []any
	Name  string
	Kinds []connection.Kind
}

// ConnectionNamer is a Type whose tasks name connections in places other
// than `connection` (a dataflow's components, each in its settings).
// Validation checks that the package defines each one named, of one of
// its kinds. Names holding ${...} are skipped.
type ConnectionNamer interface {
	NamedConnections(with map[string]any) []ConnectionRef
}
