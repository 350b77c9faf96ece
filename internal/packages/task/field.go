package task

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
