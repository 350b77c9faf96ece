package task

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/scaleout/scaleout/internal/packages/connection"
)

// Type is one kind of task.
type Type interface {
	// Check validates a task's settings before the package runs and reports
	// every problem (errors.Join), naming the field. String values may
	// still hold ${...} interpolations, which resolve only at run time: a
	// Check must accept them wherever a string is allowed, and check what it
	// can (required fields, types, enumerations, literal values).
	Check(with map[string]any) error
	// Run runs one attempt with resolved settings. It must return promptly
	// when ctx ends, leaving no process behind. The returned Output is what
	// the task's `outputs` paths read (for example "body.count").
	Run(ctx context.Context, in Input) (Output, error)
}

// Input is what one attempt gets.
type Input struct {
	// Task is the task's path in the package, e.g. "per-region[eu]/load".
	Task string
	// Attempt counts from 1.
	Attempt int
	// With is the task's settings with every interpolation resolved.
	With map[string]any
	// Vars is a snapshot of the package's variables (for set tasks).
	Vars map[string]any
	// Eval evaluates an expression in the task's environment (params,
	// vars, tasks, item); set tasks use it.
	Eval func(expression string) (any, error)
	// Log receives the task's output lines and warnings; the engine
	// redacts sensitive values before they go anywhere.
	Log Log
	// Connections are the run's connections (package connection): each
	// opened the first time a task asks, shared by the run's tasks, closed
	// when the run ends. Nil when the package declares none.
	Connections Connections
	// Dir is the run's scratch directory: the project's files, and where
	// tasks read and write files (exec tasks start there). Empty when the
	// runner gives none.
	Dir string
}

// Connections gives tasks the run's connections by name.
type Connections interface {
	// Connection is the named connection's definition, its values resolved.
	Connection(name string) (connection.Connection, error)
	// DB is the named database connection's pool, opened on first use; the
	// run closes it, tasks must not.
	DB(ctx context.Context, name string) (*sql.DB, error)
}

// ConnectionUser is a Type whose tasks name a connection in their
// `connection` setting (and in `to_connection`, where the type takes one).
// Validation checks that the package defines each connection named and
// that it is of one of ConnectionKinds.
type ConnectionUser interface {
	ConnectionKinds() []connection.Kind
}

// Transactions is what a run's Connections also give the tasks inside a
// sequence that has a transaction: the transaction on the named connection,
// begun on first use and ended (committed or rolled back) by the engine
// when the sequence ends. ok is false when the task is in no transaction on
// that connection. The transaction is the task's alone until release is
// called (tasks of the sequence that run at once take turns); release must
// be called once, when the task is done with it.
type Transactions interface {
	Tx(ctx context.Context, name string) (tx *sql.Tx, release func(), ok bool, err error)
}

// Log receives what a task reports while it runs.
type Log interface {
	// Output is one line of the task's output; stream is "stdout",
	// "stderr" or "" for other tasks.
	Output(stream, line string)
	Warn(message string)
}

// Output is a task's result object.
type Output map[string]any

// ErrPermanent marks a failure that retrying cannot fix (bad settings, a
// `fail` task): the engine does not retry it. Wrap it: fmt.Errorf("...: %w",
// task.ErrPermanent).
var ErrPermanent = errors.New("permanent failure")

// Registry maps type names to types. It is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	types map[string]Type
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]Type{}} }

// reserved names the engine's own containers.
var reserved = []string{"sequence", "foreach"}

// Register adds a type; names are unique and the containers' names are
// taken.
func (r *Registry) Register(name string, t Type) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case name == "" || t == nil:
		return errors.New("task: register needs a name and a type")
	case slices.Contains(reserved, name):
		return fmt.Errorf("task type %q: the name is the engine's container", name)
	case r.types[name] != nil:
		return fmt.Errorf("task type %q is registered already", name)
	}
	r.types[name] = t
	return nil
}

// MustRegister is Register for init-time wiring of built-in types.
func (r *Registry) MustRegister(name string, t Type) {
	if err := r.Register(name, t); err != nil {
		panic(err)
	}
}

// Lookup finds a type by name.
func (r *Registry) Lookup(name string) (Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// Names lists the registered types and the containers, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := slices.Clone(reserved)
	for n := range r.types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// IsContainer reports whether name is one of the engine's containers.
func IsContainer(name string) bool { return slices.Contains(reserved, name) }
